//! `pack`: resolve what was named, fetch and verify every signature, write one bundle (or, with
//! `--dry-run`, print the plan); progress on a terminal, a line per release otherwise.

use std::sync::Arc;
use std::time::Duration;

use sigbundle::bundle::Compression;
use sigbundle::error::Error;
use sigbundle::fsutil::Overwrite;
use sigbundle::graph::GraphSource;
use sigbundle::packing::{self, Output, PackOptions, PackSummary, ProgressEvent, ReleaseOutcome};
use sigbundle::registry::{AuthFile, Registry, RegistryConfig};
use sigbundle::resolve::{self, ResolveOptions, Spec};
use sigbundle::store::{FetchConfig, Fetcher, Store};
use sigbundle::text::escape_name;

use super::release_trust;
use crate::args::pack::{CompressionArg, PackArgs};
use crate::errln;
use crate::exit::{CommandResult, Outcome};
use crate::printer::{print_json, stderr_is_terminal, stdout_is_terminal, write_text};

pub fn run(a: PackArgs) -> CommandResult {
    // Refuse a terminal before fetching anything: a bundle is binary.
    if a.output.as_deref().is_some_and(|p| p.as_os_str() == "-") && !a.dry_run && stdout_is_terminal() {
        return Err(Error::Usage(
            "-o - writes a binary bundle; redirect stdout to a file or a pipe, or give -o FILE".into(),
        ));
    }
    if !a.dry_run && a.sign_key.is_none() && !a.no_sign {
        return Err(Error::Usage(
            "choose --sign-key FILE (your packer key) or --no-sign (an unsigned bundle, which unpack accepts only with --allow-unsigned)".into(),
        ));
    }
    if !a.dry_run && a.output.is_none() {
        return Err(Error::Usage(
            "-o FILE is required (or - for standard output, or --dry-run)".into(),
        ));
    }
    let specs = specs(&a)?;
    let registry = Registry::new(RegistryConfig {
        auth: match &a.authfile {
            Some(p) => AuthFile::from_file(p)?,
            None => AuthFile::discover()?,
        },
        insecure: a.insecure_registry.clone(),
        ca_file: a.registry_ca.clone(),
        timeout: Some(Duration::from_secs(a.timeout)),
    })?;
    let resolve_opts = ResolveOptions {
        arch: a.arch,
        release_repo: a.release_repo.clone(),
        graph: graph_source(&a),
        min_version: a.min_version.clone(),
        max_version: a.max_version.clone(),
    };
    let bar = progress_bar(a.quiet);
    let opts = options(&a, bar.clone())?;
    let summary = packing::resolve_and_pack(&specs, &registry, &resolve_opts, &opts);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = summary.inspect_err(|e| said_missing(&a, e))?;
    say(&a, &summary)?;
    // A dry run prints its plan either way; the exit code says whether a real run would pack.
    match summary.dry_run_failure() {
        Some(e) if a.dry_run => Err(e.into()),
        _ => Ok(Outcome::Success),
    }
}

/// The releases a refusal for missing signatures is about, said once: as JSON for scripts
/// (the document still prints, with `ok: false`), or a line each with `-q` (which silenced the
/// progress lines that otherwise said them); the error itself then counts them.
fn said_missing(a: &PackArgs, e: &sigbundle::packing::PackError) {
    let missing = e.missing();
    if missing.is_empty() {
        return;
    }
    if a.json {
        print_json(&crate::json::PackFailed {
            ok: false,
            error: e.to_string(),
            missing,
        });
    } else if a.quiet && (missing.len() > 1 || missing[0].refused_signatures > 0) {
        for m in missing {
            errln!("missing: {} ({})", m.digest, escape_name(&m.reason));
        }
    }
}

/// Every name asked for: arguments, list files, ImageSetConfigurations, channels.
fn specs(a: &PackArgs) -> Result<Vec<(String, Spec)>, Error> {
    let mut specs = Vec::new();
    for r in &a.releases {
        specs.push((r.trim().to_string(), Spec::parse(r)?));
    }
    for f in &a.from_file {
        for (_, text, spec) in resolve::read_list(f)? {
            specs.push((text, spec));
        }
    }
    for f in &a.from_isc {
        let set = sigbundle::isc::read(f)?;
        if !a.quiet {
            for n in &set.notes {
                errln!("{}", sigbundle::isc::note(f, n));
            }
        }
        specs.extend(set.specs);
    }
    if let Some(ends) = &a.update_path {
        // The channels are the graphs the path runs over, not releases to take whole.
        specs.extend(update_path_specs(a, ends)?);
        return Ok(specs);
    }
    for c in &a.channel {
        specs.push((format!("channel:{c}"), Spec::parse(&format!("channel:{c}"))?));
    }
    Ok(specs)
}

/// `--update-path FROM TO`: the path over the `--channel` graphs, said hop by hop on stderr;
/// each release after FROM, asked as `update-path:FROM..TO@VERSION`.
fn update_path_specs(a: &PackArgs, ends: &[String]) -> Result<Vec<(String, Spec)>, Error> {
    use sigbundle::update_path::{fetch_and_plan, PathStart};
    let [from, to] = ends else {
        return Err(Error::Usage("--update-path takes FROM and TO".into()));
    };
    if a.channel.is_empty() {
        return Err(Error::Usage(
            "--update-path needs the channels its path runs over: --channel NAME (repeatable, e.g. --channel stable-4.15 --channel eus-4.16)".into(),
        ));
    }
    let start = match Spec::parse(from)? {
        Spec::Version(v) => PathStart::Version(v),
        Spec::Digest(d) => PathStart::Digest(d),
        _ => {
            return Err(Error::Usage(format!(
                "--update-path FROM {from:?}: a version (4.15.0) or a release digest (sha256:…)"
            )))
        }
    };
    let Spec::Version(target) = Spec::parse(to)? else {
        return Err(Error::Usage(format!("--update-path TO {to:?}: a version (4.16.20)")));
    };
    let plan = fetch_and_plan(
        fetch_config(a),
        &graph_source(a),
        &a.channel,
        a.arch.graph_name(),
        &start,
        &target,
        &a.accept_risks,
    )?;
    if !a.quiet {
        errln!(
            "update path {} → {target} ({} hop(s)):",
            plan.from.version,
            plan.hops.len()
        );
        let mut at = plan.from.version.clone();
        for h in &plan.hops {
            let risks = if h.risks.is_empty() {
                String::new()
            } else {
                format!("  (conditional, accepted risks: {})", escape_name(&h.risks.join(", ")))
            };
            errln!("  {at} → {}  {}{risks}", h.version, h.digest);
            at = h.version.clone();
        }
    }
    let name = |v: &str| format!("update-path:{}..{target}@{v}", plan.from.version);
    Ok(plan
        .hops
        .iter()
        .map(|h| (name(&h.version), Spec::Digest(h.digest)))
        .collect())
}

/// Where channel graphs come from: `--graph-file` (for `--graph-file-arch`), else `--graph-url`.
fn graph_source(a: &PackArgs) -> GraphSource {
    match &a.graph_file {
        Some(f) => GraphSource::File {
            path: f.clone(),
            arch: a.graph_file_arch.map(|a| a.graph_name().to_string()),
        },
        None => GraphSource::Url(a.graph_url.clone()),
    }
}

/// How stores and the update service are asked: `--timeout`, `--retries`, `--ca-file`.
fn fetch_config(a: &PackArgs) -> FetchConfig {
    FetchConfig {
        timeout: Duration::from_secs(a.timeout),
        retries: a.retries,
        ca_file: a.ca_file.clone(),
        ..FetchConfig::default()
    }
}

fn options(a: &PackArgs, bar: Option<indicatif::ProgressBar>) -> Result<PackOptions, Error> {
    let stores = if a.stores.is_empty() {
        Store::red_hat()
    } else {
        a.stores.iter().map(|s| Store::parse(s)).collect::<Result<_, _>>()?
    };
    for store in &stores {
        store.check()?;
    }
    let output = match a.output.as_deref() {
        Some(p) if p.as_os_str() == "-" => Some(Output::Stdout),
        Some(p) => Some(Output::File {
            path: p.to_path_buf(),
            overwrite: if a.force { Overwrite::Always } else { Overwrite::Never },
        }),
        None if a.dry_run => None,
        None => {
            return Err(Error::Usage(
                "-o FILE is required (or - for standard output, or --dry-run)".into(),
            ))
        }
    };
    Ok(PackOptions {
        stores,
        release_keys: release_trust("pack", &a.keyring)?,
        strict: a.strict,
        signer: match &a.sign_key {
            Some(path) => Some(super::pack_key::signer(path)?),
            None => None,
        },
        compression: match a.compression {
            CompressionArg::Zstd => Compression::Zstd,
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::None => Compression::None,
        },
        output,
        created: packing::source_date_epoch()?,
        concurrency: a.concurrency,
        allow_missing: a.allow_missing,
        all_stores: a.all_stores,
        fetcher: Fetcher::new(fetch_config(a))?,
        carried: sigbundle::carried::Carried::read(&a.exclude_carried)?,
        dry_run: a.dry_run,
        progress: Some(progress(bar, a.quiet)),
    })
}

fn progress_bar(quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !stderr_is_terminal() {
        return None;
    }
    Some(indicatif::ProgressBar::new_spinner())
}

/// The bar once the total is known: done/total, rate and time left, from the start.
fn counting_style() -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(
        "fetching {bar:30} {pos}/{len} releases  {rate}  {elapsed} elapsed, {eta} left  {wide_msg}",
    )
    .expect("a valid template")
    .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = write!(w, "{:.1}/s", s.per_sec());
    })
}

/// What is said as the run goes: a resolving spinner, then a counting bar (on a terminal), or
/// a line per release on stderr (unless quiet). A release without a valid signature is always
/// said on its own line, with why; the bar's message shows the latest valid one.
fn progress(bar: Option<indicatif::ProgressBar>, quiet: bool) -> packing::Progress {
    Arc::new(move |event: ProgressEvent<'_>| match event {
        ProgressEvent::Resolving => {
            if let Some(b) = &bar {
                b.set_message("resolving releases to digests…");
                b.enable_steady_tick(Duration::from_millis(120));
            }
        }
        ProgressEvent::Fetching { releases } => {
            if let Some(b) = &bar {
                b.disable_steady_tick();
                b.set_style(counting_style());
                b.set_length(releases as u64);
                b.reset_eta();
                b.set_message("");
            }
        }
        ProgressEvent::Done(o) => said_done(bar.as_ref(), quiet, o),
    })
}

fn said_done(bar: Option<&indicatif::ProgressBar>, quiet: bool, o: &ReleaseOutcome) {
    let valid = o.signatures.iter().filter(|j| j.report.verdict.is_valid()).count();
    let line = match &o.store {
        Some(s) => format!("{}: {valid} valid signature(s) from {s}", o.digest),
        // The lines below name each rejected signature; without any, the reason is here.
        None if o.signatures.is_empty() => {
            format!("{}: no valid signature ({})", o.digest, packing::missing_reason(o))
        }
        None => format!("{}: no valid signature", o.digest),
    };
    let incomplete = o.incomplete.iter().map(|f| {
        format!(
            "  warning: {}; kept the signatures that verified (the cluster stops at the first valid one)",
            escape_name(f)
        )
    });
    let rejected = o
        .signatures
        .iter()
        .filter(|j| !j.report.verdict.is_valid())
        .map(|j| format!("  {} signature-{}: {}", j.store, j.index, j.report.verdict));
    let lines: Vec<String> = incomplete.chain(rejected).collect();
    match bar {
        Some(b) => {
            b.inc(1);
            if o.store.is_none() {
                b.println(sigbundle::text::terminal_safe(&line));
            } else {
                b.set_message(sigbundle::text::terminal_safe(&line).into_owned());
            }
            for msg in lines {
                b.println(sigbundle::text::terminal_safe(&msg));
            }
        }
        None if !quiet => {
            errln!("{line}");
            for msg in lines {
                errln!("{msg}");
            }
        }
        None => {}
    }
}

/// The summary (JSON, the plan, or a line on stderr).
fn say(a: &PackArgs, summary: &PackSummary) -> Result<(), Error> {
    if a.json {
        print_json(&crate::json::Packed::of(summary, a.dry_run));
    } else if a.dry_run {
        write_text(&crate::render::plan(summary));
        errln!(
            "plan: {} release(s), {} valid signature(s), {} rejected, {} missing; nothing written",
            summary.releases,
            summary.signatures,
            summary.rejected_signatures,
            summary.missing.len()
        );
    } else if !a.quiet {
        if summary.carried > 0 {
            errln!(
                "{} release(s) left out as already carried (--exclude-carried: {} earlier bundle(s){})",
                summary.carried,
                a.exclude_carried.len(),
                if summary.bundle.is_some() {
                    ", recorded in the manifest"
                } else {
                    ""
                }
            );
        }
        let Some(b) = &summary.bundle else {
            if summary.carried > 0 {
                errln!("nothing new to carry: every release asked for was carried before; no bundle written");
            }
            return Ok(());
        };
        if !summary.missing.is_empty() {
            errln!(
                "{} release(s) packed without a valid signature (--allow-missing; each said above), recorded as missing in the manifest",
                summary.missing.len()
            );
        }
        errln!(
            "packed {} release(s), {} signature(s) into {} ({} bytes, sha256 {}), packer {}, in {:.2}s",
            summary.releases,
            summary.signatures,
            b.path,
            b.bytes,
            b.sha256,
            summary.packer,
            summary.elapsed_seconds
        );
        if let Some(r) = &b.receipt {
            errln!("receipt: {r} (carry it back and run: unpack audit --receipt {r})");
        }
        let trust = if a.sign_key.is_some() {
            format!("--packer-key <the public key of {}>", summary.packer)
        } else {
            "--allow-unsigned".to_string()
        };
        let bundle = if b.path == "-" { "BUNDLE" } else { b.path.as_str() };
        errln!("next, on the air-gapped side: unpack verify {bundle} {trust}");
    }
    Ok(())
}
