//! `unpack check-path`: verify a bundle (one audit record, as `verify`), then say for each hop
//! of the update path from saved graphs whether the bundle carries a valid signature of the
//! release the cluster would update to; exit 1 naming the first hop it would refuse.

use sigbundle::audit::{Action, AuditLog};
use sigbundle::error::Error;
use sigbundle::resolve::Spec;
use sigbundle::step::{audited, StepDone};
use sigbundle::text::escape_name;
use sigbundle::update_path::{check, plan, ChannelGraph, PathStart};

use super::{check_options, json_on_failure};
use crate::args::unpack::CheckPathArgs;
use crate::exit::{CommandResult, Outcome};
use crate::printer::{print_json, write_text};
use crate::{errln, json::PathChecked};

pub fn run(a: CheckPathArgs, log: &AuditLog) -> CommandResult {
    let start = match Spec::parse(&a.from)? {
        Spec::Version(v) => PathStart::Version(v),
        Spec::Digest(d) => PathStart::Digest(d),
        _ => {
            return Err(Error::Usage(format!(
                "--from {:?}: a version (4.13.32) or a release digest (sha256:…)",
                a.from
            )))
        }
    };
    // The path first: a usage problem is said before the bundle is read.
    let mut files = Vec::with_capacity(a.graph_file.len());
    for f in &a.graph_file {
        let bytes = sigbundle::graph::read_file(f)
            .map_err(|reason| Error::Usage(format!("--graph-file {}: {reason}", f.display())))?;
        files.push((f.display().to_string(), bytes));
    }
    let graphs: Vec<ChannelGraph<'_>> = files
        .iter()
        .map(|(name, bytes)| ChannelGraph {
            channel: name,
            bytes,
            source_name: name,
        })
        .collect();
    let path = plan(&graphs, &start, &a.to, &a.accept_risks)?;
    let opts = check_options(&a.check, &a.bundle, false)?;
    let result = audited(log, &a.bundle, Action::Verify, &opts, None, |_| {
        Ok(StepDone::ok((), None))
    });
    let (b, _) = json_on_failure(result, &a.bundle, a.json)?;
    let hops = check(&path, &b);
    let refused = hops.iter().find(|h| h.signatures == 0);
    if a.json {
        print_json(&PathChecked {
            ok: refused.is_none(),
            bundle: &a.bundle,
            from: &path.from,
            hops: &hops,
        });
    } else {
        write_text(&crate::render::path_checked(&a.bundle, &path.from.version, &hops));
    }
    match refused {
        None => {
            errln!(
                "OK: every one of the {} hop(s) from {} to {} has a valid signature in {}",
                hops.len(),
                path.from.version,
                a.to,
                escape_name(&a.bundle.display().to_string())
            );
            Ok(Outcome::Success)
        }
        Some(h) => {
            let missing = hops.iter().filter(|h| h.signatures == 0).count();
            errln!(
                "unpack: the cluster would refuse the update {} → {}: {} holds no valid signature of {} ({missing} of {} hop(s) not carried)",
                h.from,
                h.to.version,
                escape_name(&a.bundle.display().to_string()),
                h.to.digest,
                hops.len()
            );
            Ok(Outcome::VerificationFailed)
        }
    }
}
