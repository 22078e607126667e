//! `unpack apply`: verify, then server-side apply the ConfigMaps to the cluster; a key already
//! holding other bytes is left as it is and ends the command with exit 1 (`conflict` in the
//! audit log) unless `--force-conflicts`.

use sigbundle::audit::{Action, AuditLog, Destination};
use sigbundle::cluster::{self, ApplyOptions, ApplyReport, Target};
use sigbundle::step::{audited, StepDone};

use super::{check_options, json_on_failure};
use crate::args::unpack::ApplyArgs;
use crate::exit::{CommandResult, Outcome};
use crate::printer::print_json;
use crate::{errln, outln};

pub fn run(a: ApplyArgs, log: &AuditLog) -> CommandResult {
    let opts = check_options(&a.check, &a.bundle, true)?;
    let target = Target {
        kubeconfig: a.kubeconfig.clone(),
        context: a.context.clone(),
    };
    let apply = ApplyOptions {
        dry_run: a.dry_run,
        force_conflicts: a.force_conflicts,
    };
    let result = audited(log, &a.bundle, Action::Apply, &opts, None, |b| {
        let report = cluster::apply_blocking(b, &target, apply)?;
        let destination = Destination::Cluster {
            server: report.server.clone(),
            context: report.context.clone(),
            user: report.user.clone(),
            namespace: report.namespace.to_string(),
            dry_run: a.dry_run,
        };
        let conflicts = report
            .unresolved_conflicts()
            .map(|i| cluster::describe(i, a.dry_run))
            .collect();
        Ok(StepDone {
            value: report,
            destination: Some(destination),
            conflicts,
        })
    });
    let (_, done) = json_on_failure(result, &a.bundle, a.json)?;
    say(&done.value, a.dry_run, a.json);
    let conflicts = done.conflicts.len();
    if conflicts > 0 {
        errln!("unpack: {conflicts} release(s) left in conflict: the cluster holds other bytes under the same keys (--force-conflicts to overwrite)");
        return Ok(Outcome::VerificationFailed);
    }
    Ok(Outcome::Success)
}

fn say(report: &ApplyReport, dry_run: bool, json: bool) {
    if json {
        print_json(report);
        return;
    }
    for item in &report.items {
        outln!("{}", cluster::describe(item, dry_run));
    }
    let ctx = report.context.as_deref().unwrap_or("-");
    errln!(
        "{} {} release(s) to {} (context {ctx}), namespace {}{}",
        if dry_run { "planned (server dry run)" } else { "applied" },
        report.items.len(),
        report.server,
        report.namespace,
        if dry_run {
            ""
        } else {
            "; every written byte read back and checked"
        }
    );
    errln!(
        "check: oc get configmap -n {} -l {}",
        report.namespace,
        sigbundle::configmap::LABEL
    );
}
