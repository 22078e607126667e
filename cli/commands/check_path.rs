//! `unpack check-path`: verify a bundle (one audit record, as `verify`), then say for each hop
//! of the update path from saved graphs whether the bundle carries a valid signature of the
//! release the cluster would update to; exit 1 naming the first hop it would refuse.

use std::collections::BTreeMap;

use sigbundle::audit::{Action, AuditLog};
use sigbundle::digest::Digest;
use sigbundle::error::Error;
use sigbundle::resolve::Spec;
use sigbundle::step::{audited, StepDone};
use sigbundle::text::escape_name;
use sigbundle::update_path::{check, plan, ChannelGraph, PathStart};
use sigbundle::verify::verify_release_signature;

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
            check_channel: false,
        })
        .collect();
    let path = plan(&graphs, &start, &a.to, &a.accept_risks)?;
    let opts = check_options(&a.check, &a.bundle, false)?;
    let result = audited(log, &a.bundle, Action::Verify, &opts, None, |_| {
        Ok(StepDone::ok((), None))
    });
    let (b, _) = json_on_failure(result, &a.bundle, a.json)?;
    let in_cluster = if a.cluster.given() {
        Some(in_cluster(&a, &path, &opts)?)
    } else {
        None
    };
    let hops = check(&path, &b, in_cluster.as_ref());
    let refused = hops.iter().find(|h| !h.carried());
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
            let missing = hops.iter().filter(|h| !h.carried()).count();
            let holder = if a.cluster.given() {
                format!(
                    "neither {} nor the cluster holds a",
                    escape_name(&a.bundle.display().to_string())
                )
            } else {
                format!("{} holds no", escape_name(&a.bundle.display().to_string()))
            };
            errln!(
                "unpack: the cluster would refuse the update {} → {}: {holder} valid signature of {} ({missing} of {} hop(s) not carried)",
                h.from,
                h.to.version,
                h.to.digest,
                hops.len()
            );
            Ok(Outcome::VerificationFailed)
        }
    }
}

/// Valid signatures of each hop's release in the cluster's signature ConfigMaps, judged as the
/// bundle's are (the same release keys, `--strict` or not).
fn in_cluster(
    a: &CheckPathArgs,
    path: &sigbundle::update_path::UpdatePlan,
    opts: &sigbundle::bundle::CheckOptions,
) -> Result<BTreeMap<Digest, usize>, Error> {
    let held = sigbundle::cluster::signatures_blocking(&a.cluster.target())?;
    Ok(path
        .hops
        .iter()
        .map(|h| {
            let valid = held.get(&h.digest).map_or(0, |sigs| {
                sigs.iter()
                    .filter(|s| {
                        let r = verify_release_signature(&opts.release_keys, &h.digest, s, opts.now, opts.strict);
                        r.verdict.is_valid()
                    })
                    .count()
            });
            (h.digest, valid)
        })
        .collect())
}
