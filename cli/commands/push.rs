//! `unpack push`: verify, then push the bundle's sigstore `.sig` artifacts into the mirror
//! registry (each read back and compared); a different `.sig` already under the same tag is
//! left as it is and ends the command with exit 1 (`conflict` in the audit log) unless
//! `--force`.

use std::time::Duration;

use sigbundle::audit::{Action, AuditLog};
use sigbundle::carry::push::{self, PushAction, PushOptions, Targets};
use sigbundle::digest::Pullspec;
use sigbundle::error::Error;
use sigbundle::registry::{AuthFile, Registry, RegistryConfig};
use sigbundle::step::{audited, StepDone};
use sigbundle::text::escape_name;

use super::{check_options, json_on_failure};
use crate::args::unpack::PushArgs;
use crate::exit::{CommandResult, Outcome};
use crate::printer::print_json;
use crate::{errln, outln};

pub fn run(a: PushArgs, log: &AuditLog) -> CommandResult {
    let opts = check_options(&a.check, &a.bundle, false)?;
    let (targets, registry) = (targets(&a)?, registry(&a)?);
    let push_opts = PushOptions {
        registry,
        targets,
        dry_run: a.dry_run,
        force: a.force,
        concurrency: a.concurrency,
    };
    let result = audited(log, &a.bundle, Action::Push, &opts, None, |b| {
        if b.sigstore.is_empty() {
            return Err(Error::Usage(
                "the bundle holds no sigstore .sig artifacts (pack it with --sigstore); nothing pushed".into(),
            ));
        }
        let items = push::push_blocking(&b.sigstore, &push_opts)?;
        let destination = push::destination_of(&items, a.dry_run, a.force);
        let conflicts = items
            .iter()
            .filter(|i| i.action == PushAction::Conflict)
            .map(|i| push::describe(i, a.dry_run))
            .collect();
        Ok(StepDone {
            value: items,
            destination: Some(destination),
            conflicts,
        })
    });
    let (_, done) = json_on_failure(result, &a.bundle, a.json)?;
    let items = &done.value;
    if a.json {
        print_json(&crate::json::Pushed {
            ok: done.conflicts.is_empty(),
            dry_run: a.dry_run,
            items,
        });
    } else {
        report(items, a.dry_run);
    }
    if !done.conflicts.is_empty() {
        errln!(
            "unpack: {} .sig artifact(s) left in conflict: the mirror holds a different .sig under the same tag (--force to replace)",
            done.conflicts.len()
        );
        return Ok(Outcome::VerificationFailed);
    }
    Ok(Outcome::Success)
}

/// Where the artifacts go: `--to` (and `--components-to`), or the mirrors of an IDMS.
fn targets(a: &PushArgs) -> Result<Targets, Error> {
    let repo = |flag: &str, s: &str| {
        Pullspec::parse_repository(s).map_err(|e| Error::Usage(format!("{flag} {}: {e}", escape_name(s))))
    };
    Ok(match (&a.to, &a.idms) {
        (Some(to), _) => Targets::To {
            release: repo("--to", to)?,
            components: a
                .components_to
                .as_deref()
                .map(|c| repo("--components-to", c))
                .transpose()?,
        },
        (None, Some(f)) => Targets::Idms(push::read_idms(f)?),
        (None, None) => unreachable!("clap requires --to or --idms"),
    })
}

/// The mirror registry's client: `--authfile`, `--registry-ca`, `--insecure-registry`.
fn registry(a: &PushArgs) -> Result<Registry, Error> {
    Ok(Registry::new(RegistryConfig {
        auth: match &a.authfile {
            Some(p) => AuthFile::from_file(p)?,
            None => AuthFile::discover()?,
        },
        insecure: a.insecure_registry.clone(),
        ca_file: a.registry_ca.clone(),
        timeout: Some(Duration::from_secs(a.timeout)),
        retries: a.retries,
    })?)
}

/// The pushed (or planned) artifacts on stdout, the tally and warnings on stderr.
fn report(items: &[push::PushItem], dry_run: bool) {
    for i in items {
        outln!("{}", push::describe(i, dry_run));
    }
    let count = |act: PushAction| items.iter().filter(|i| i.action == act).count();
    let without_image = items.iter().filter(|i| i.image_present == Some(false)).count();
    errln!(
        "{} {} .sig artifact(s): {} {}, {} unchanged, {} conflict{}",
        if dry_run { "planned" } else { "pushed" },
        items.len(),
        count(PushAction::Create) + count(PushAction::Replace),
        if dry_run {
            "to write"
        } else {
            "written and read back identical"
        },
        count(PushAction::Unchanged),
        count(PushAction::Conflict),
        if dry_run { "; nothing pushed (--dry-run)" } else { "" }
    );
    if without_image > 0 {
        errln!(
            "unpack: warning: {without_image} destination(s) do not hold the image itself yet; mirror the images there too, or nodes pull them from elsewhere"
        );
    }
}
