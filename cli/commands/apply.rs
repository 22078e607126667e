//! `unpack apply`: verify, then server-side apply the ConfigMaps to the cluster; a key already
//! holding other bytes is left as it is and ends the command with exit 1 (`conflict` in the
//! audit log) unless `--force-conflicts`. `--dry-run=client` only plans, from the bundle alone.

use sigbundle::audit::{Action, AuditLog};
use sigbundle::cluster::{self, ApplyOptions, ApplyReport};
use sigbundle::step::{audited, StepDone};

use super::{check_options, json_on_failure};
use crate::args::unpack::{ApplyArgs, DryRunArg};
use crate::exit::{CommandResult, Outcome};
use crate::printer::print_json;
use crate::{errln, outln};

pub fn run(a: ApplyArgs, log: &AuditLog) -> CommandResult {
    let opts = check_options(&a.check, &a.bundle, true)?;
    let target = a.cluster.target();
    let apply = ApplyOptions {
        dry_run: a.dry_run == Some(DryRunArg::Server),
        force_conflicts: a.force_conflicts,
    };
    let client_only = a.dry_run == Some(DryRunArg::Client);
    let result = audited(log, &a.bundle, Action::Apply, &opts, None, |b| {
        let report = if client_only {
            cluster::plan_client(b)
        } else {
            cluster::apply_blocking(b, &target, apply)?
        };
        let destination = report.destination();
        let conflicts = report
            .unresolved_conflicts()
            .map(|i| cluster::describe(i, report.dry_run))
            .collect();
        Ok(StepDone {
            value: report,
            destination: Some(destination),
            conflicts,
        })
    });
    let (_, done) = json_on_failure(result, &a.bundle, a.json)?;
    say(&done.value, a.json);
    let conflicts = done.conflicts.len();
    if conflicts > 0 {
        let as_text = done
            .value
            .unresolved_conflicts()
            .filter(|i| !i.keys_under_data.is_empty())
            .count();
        if as_text == 0 {
            errln!("unpack: {conflicts} release(s) left in conflict: the cluster holds other bytes under the same keys (--force-conflicts to overwrite)");
        } else {
            errln!("unpack: {conflicts} release(s) left in conflict: the cluster holds other content under the same keys ({as_text} as text, under data, which only removing by hand resolves; --force-conflicts overwrites other bytes)");
        }
        return Ok(Outcome::VerificationFailed);
    }
    Ok(Outcome::Success)
}

fn say(report: &ApplyReport, json: bool) {
    if json {
        print_json(&crate::json::Applied {
            ok: report.unresolved_conflicts().next().is_none(),
            report,
        });
        return;
    }
    for item in &report.items {
        outln!("{}", cluster::describe(item, report.dry_run));
    }
    let Some(server) = &report.server else {
        errln!(
            "planned (client dry run) {} release(s) for namespace {}: from the bundle alone; no cluster was contacted, so what it holds (unchanged, update, conflict) is not known: --dry-run=server asks it",
            report.items.len(),
            report.namespace
        );
        return;
    };
    let written = report.items.iter().filter(|i| i.applied).count();
    let unchanged = report
        .items
        .iter()
        .filter(|i| i.action == cluster::Action::Unchanged)
        .count();
    let mut rest = Vec::new();
    if unchanged > 0 {
        rest.push(format!("{unchanged} already there as they are"));
    }
    let left = report.items.len() - written - unchanged;
    if left > 0 {
        rest.push(format!("{left} in conflict, left as they were"));
    }
    let to = format!(
        "{server} ({}), namespace {}",
        cluster::describe_identity(report),
        report.namespace
    );
    if report.dry_run {
        errln!("planned (server dry run) {} release(s) to {to}", report.items.len());
    } else if written == 0 {
        errln!("nothing written to {to}: {}", rest.join(", "));
    } else if rest.is_empty() {
        errln!("applied {written} release(s) to {to}; every written byte read back and checked");
    } else {
        errln!(
            "applied {written} of {} release(s) to {to} ({}); every written byte read back and checked",
            report.items.len(),
            rest.join(", ")
        );
    }
    errln!(
        "check: oc get configmap -n {} -l {}",
        report.namespace,
        sigbundle::configmap::LABEL
    );
}
