//! Every table and report the binaries print, as text: the release table `verify` and
//! `inspect` share, the bundle header, `pack --dry-run`'s plan, the files `emit` wrote and the
//! audit listing. Texts from bundles, manifests and logs are escaped here and cut only between
//! characters; the printer escapes once more on the way out.

use std::fmt::Write as _;
use std::path::Path;

use sigbundle::audit::{Destination, Record};
use sigbundle::bundle::{PackerStatus, VerifiedBundle};
use sigbundle::manifest::{Manifest, Missing, SigstoreImage};
use sigbundle::packing::PackSummary;
use sigbundle::text::{escape_name as e, head_chars, tail_chars, truncate_chars};
use sigbundle::unpack::{EmittedFile, FileAction};
use sigbundle::verify::rfc3339;

/// The release column: `sha256:` and 64 hex digits.
const RELEASE: usize = 71;

/// One signature row of the release table.
struct SignatureRow<'a> {
    signer_cert: Option<&'a str>,
    identity: Option<&'a str>,
    warnings: &'a [String],
}

/// One release of the release table: its signatures, and (for claims) the names it was asked as.
struct ReleaseRows<'a> {
    digest: String,
    signatures: Vec<SignatureRow<'a>>,
    asked_as: Option<String>,
}

/// The release table: a line per signature (the release and count on its first), warnings under
/// it, the names asked as when shown, then the missing releases.
fn release_table(out: &mut String, last_column: &str, releases: Vec<ReleaseRows<'_>>, missing: &[Missing]) {
    let _ = writeln!(
        out,
        "{:<RELEASE$}  {:<4}  {:<16}  {last_column}",
        "RELEASE", "SIGS", "SIGNER"
    );
    for r in releases {
        for (i, s) in r.signatures.iter().enumerate() {
            let signer = s.signer_cert.map_or("?", |f| tail_chars(f, 16));
            let (d, n) = if i == 0 {
                (r.digest.as_str(), r.signatures.len().to_string())
            } else {
                ("", String::new())
            };
            let _ = writeln!(
                out,
                "{d:<RELEASE$}  {n:<4}  {:<16}  {}",
                e(signer),
                e(s.identity.unwrap_or(""))
            );
            for w in s.warnings {
                let _ = writeln!(out, "{:<RELEASE$}  warning: {}", "", e(w));
            }
        }
        if let Some(names) = r.asked_as {
            let _ = writeln!(out, "{:<RELEASE$}  {:<4}  {:<16}  asked as: {}", "", "", "", e(&names));
        }
    }
    for m in missing {
        let _ = writeln!(
            out,
            "{:<RELEASE$}  {:<4}  missing: {}",
            m.digest.to_string(),
            0,
            e(&m.reason)
        );
    }
}

/// One image of the sigstore table.
struct SigstoreRow<'a> {
    image: &'a SigstoreImage,
    key: Option<&'a str>,
    verdict: &'a str,
    /// The identity signed, or why it was not carried.
    detail: &'a str,
}

/// The sigstore table: a line per image whose `.sig` is carried (or not), with what it is to
/// its release and the key that signed it.
fn sigstore_table(out: &mut String, rows: &[SigstoreRow<'_>]) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<RELEASE$}  {:<8}  {:<16}  {:<14}  IMAGE / IDENTITY",
        "SIGSTORE .sig OF", "ROLE", "KEY", "VERDICT"
    );
    for r in rows {
        let role = match (&r.image.component, &r.image.platform) {
            (Some(_), _) => "component",
            _ => r.image.role.name(),
        };
        let what = match (&r.image.component, &r.image.platform) {
            (Some(c), _) => format!("{} ({})", r.image.repository, c),
            (None, Some(p)) => format!("{} ({})", r.image.repository, p),
            (None, None) => r.image.repository.clone(),
        };
        let _ = writeln!(
            out,
            "{:<RELEASE$}  {:<8}  {:<16}  {:<14}  {}{}",
            r.image.digest.to_string(),
            role,
            e(r.key.map_or("-", |k| tail_chars(k, 16))),
            e(r.verdict),
            e(&what),
            if r.image.required {
                ""
            } else {
                " [not checked by nodes]"
            }
        );
        let _ = writeln!(
            out,
            "{:<RELEASE$}  {:<8}  {:<16}  {:<14}  {}",
            "",
            "",
            "",
            "",
            e(&truncate_chars(r.detail, 200))
        );
    }
}

/// The sigstore rows of a manifest: the carried entries (with `verdicts` when judged again
/// here), then the images not carried.
fn sigstore_rows<'a>(
    m: &'a Manifest,
    verdicts: Option<&'a [sigbundle::bundle::CheckedSigstore]>,
) -> Vec<SigstoreRow<'a>> {
    let mut rows: Vec<SigstoreRow> = m
        .sigstore
        .iter()
        .enumerate()
        .map(|(i, s)| SigstoreRow {
            image: &s.image,
            key: Some(
                verdicts
                    .and_then(|v| v.get(i))
                    .and_then(|c| c.node.key_fingerprint.as_deref())
                    .unwrap_or(&s.key_fingerprint),
            ),
            verdict: verdicts
                .and_then(|v| v.get(i))
                .map_or(s.verdict.as_str(), |c| c.node.verdict.name()),
            detail: &s.identity,
        })
        .collect();
    rows.extend(m.sigstore_missing.iter().map(|s| SigstoreRow {
        image: &s.image,
        key: None,
        verdict: "not carried",
        detail: &s.reason,
    }));
    rows
}

/// `unpack verify`'s report of a verified bundle (stdout part).
pub fn verified(path: &Path, b: &VerifiedBundle) -> String {
    let mut out = String::with_capacity(b.releases.len() * 120 + 1024);
    let _ = writeln!(out, "bundle     {}", e(&path.display().to_string()));
    let _ = writeln!(out, "sha256     {}", b.sha256);
    let _ = writeln!(out, "created    {} by {}", e(&b.manifest.created), e(&b.manifest.tool));
    reduced(&mut out, &b.manifest.reduced_against);
    match &b.packer {
        PackerStatus::Verified {
            fingerprint,
            signed_at,
            warnings,
            cosigners,
        } => {
            let at = signed_at.map(rfc3339).unwrap_or_default();
            let _ = writeln!(out, "packer     {fingerprint} (signature verified, signed {at})");
            for c in cosigners {
                let _ = writeln!(
                    out,
                    "cosigner   {} (signature verified, signed {})",
                    c.fingerprint,
                    rfc3339(c.signed_at)
                );
            }
            for w in warnings {
                let _ = writeln!(out, "           warning: {}", e(w));
            }
        }
        PackerStatus::NotChecked { claimed } => {
            let _ = writeln!(out, "packer     {} (NOT checked: no --packer-key)", e(claimed));
        }
        PackerStatus::Unsigned => {
            let _ = writeln!(out, "packer     none (unsigned bundle, accepted with --allow-unsigned)");
        }
    }
    let _ = writeln!(out);
    let releases = b
        .releases
        .iter()
        .map(|r| ReleaseRows {
            digest: r.digest.to_string(),
            signatures: r
                .signatures
                .iter()
                .map(|s| SignatureRow {
                    signer_cert: s.report.signer_cert.as_deref(),
                    identity: s.report.identity.as_deref(),
                    warnings: &s.report.warnings,
                })
                .collect(),
            asked_as: None,
        })
        .collect();
    release_table(&mut out, "IDENTITY", releases, &b.manifest.missing);
    sigstore_table(&mut out, &sigstore_rows(&b.manifest, Some(&b.sigstore)));
    out
}

/// What `unpack inspect` prints without keys: the manifest's claims, marked as such.
pub fn claims(bundle: &Path, m: &Manifest, signers: &[String]) -> String {
    let mut out = String::with_capacity(m.releases.len() * 200 + 512);
    let _ = writeln!(
        out,
        "NOT VERIFIED: what {} claims to hold (give --packer-key to verify)",
        e(&bundle.display().to_string())
    );
    let _ = writeln!(out, "format     {}", e(&m.format));
    let _ = writeln!(out, "created    {} by {}", e(&m.created), e(&m.tool));
    reduced(&mut out, &m.reduced_against);
    let _ = writeln!(out, "packer     {} (claimed)", e(&m.packer));
    if !signers.is_empty() {
        // Issuers as the signature packets name them (often a signing subkey), unverified: what
        // a second person looks at before `pack cosign`.
        let _ = writeln!(
            out,
            "signed by  {} (as the signatures say; not verified)",
            signers.iter().map(|s| e(s)).collect::<Vec<_>>().join(", ")
        );
    }
    let _ = writeln!(out);
    let releases = m
        .releases
        .iter()
        .map(|r| ReleaseRows {
            digest: r.digest.to_string(),
            signatures: r
                .signatures
                .iter()
                .map(|s| SignatureRow {
                    signer_cert: s.signer_cert.as_deref(),
                    identity: s.identity.as_deref(),
                    warnings: &[],
                })
                .collect(),
            asked_as: Some(r.requested.join(", ")),
        })
        .collect();
    release_table(&mut out, "IDENTITY / NAMES", releases, &m.missing);
    sigstore_table(&mut out, &sigstore_rows(m, None));
    out
}

/// `pack --dry-run`'s plan: a line per signature seen.
pub fn plan(summary: &PackSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<RELEASE$}  {:<5}  {:<17}  {:>6}  NAMES",
        "RELEASE", "SIG", "VERDICT", "BYTES"
    );
    for o in &summary.outcomes {
        let names = o.requested.join(", ");
        if o.signatures.is_empty() {
            let _ = writeln!(
                out,
                "{:<RELEASE$}  {:<5}  {:<17}  {:>6}  {names}",
                o.digest.to_string(),
                "-",
                "none found",
                0
            );
        }
        for j in &o.signatures {
            let _ = writeln!(
                out,
                "{:<RELEASE$}  {:<5}  {:<17}  {:>6}  {names}",
                o.digest.to_string(),
                j.index,
                j.report.verdict.name(),
                j.size
            );
        }
    }
    if let Some(sg) = &summary.sigstore {
        let rows: Vec<SigstoreRow> = sg
            .images
            .iter()
            .map(|o| SigstoreRow {
                image: &o.image,
                key: o.key_fingerprint.as_deref(),
                verdict: &o.verdict,
                detail: if o.carried() {
                    o.identity.as_deref().unwrap_or("")
                } else {
                    &o.reason
                },
            })
            .collect();
        sigstore_table(&mut out, &rows);
    }
    out
}

/// The files `emit` wrote (or found unchanged), one per line.
pub fn files(files: &[EmittedFile]) -> String {
    let mut out = String::with_capacity(files.len() * 110);
    for f in files {
        let action = match f.action {
            FileAction::Created => "created",
            FileAction::Unchanged => "unchanged",
            FileAction::Replaced => "replaced",
        };
        let what = match (&f.digest, f.kind) {
            (Some(d), _) => d.clone(),
            (None, kind) if f.releases.is_empty() => kind.unwrap_or("file").to_string(),
            (None, kind) => format!(
                "{}: {} release(s), {} signature(s)",
                kind.unwrap_or("file"),
                f.releases.len(),
                f.signatures
            ),
        };
        let _ = writeln!(out, "{action:9} {} ({what})", f.path.display());
    }
    out
}

/// How many files were created, replaced and left unchanged (the counts that are not zero).
pub fn tally(files: &[EmittedFile]) -> String {
    let count = |a: FileAction| files.iter().filter(|f| f.action == a).count();
    let parts: Vec<String> = [
        (count(FileAction::Created), "created"),
        (count(FileAction::Replaced), "replaced"),
        (count(FileAction::Unchanged), "unchanged"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn destination_cell(d: Option<&Destination>) -> String {
    match d {
        None => "-".to_string(),
        Some(Destination::ConfigmapDir { path, .. }) => format!("configmaps:{path}"),
        Some(Destination::StoreDir { path }) => format!("store:{path}"),
        Some(Destination::Stdout { digest, index }) => format!("stdout:{digest}#{index}"),
        Some(Destination::Cluster {
            server,
            context,
            dry_run_mode,
            ..
        }) => match server {
            Some(server) => format!("cluster:{server} ({})", context.as_deref().unwrap_or("-")),
            None => format!("cluster:- ({} dry run)", dry_run_mode.as_deref().unwrap_or("client")),
        },
        Some(Destination::OciDir { path }) => format!("oci:{path}"),
        Some(Destination::Registry {
            repositories,
            dry_run,
            artifacts,
            ..
        }) => format!(
            "registry:{} ({} .sig{})",
            repositories.join(","),
            artifacts.len(),
            if *dry_run { ", dry run" } else { "" }
        ),
    }
}

/// The audit listing: per record, or per release. Every field of a record is the log's word
/// (a log is anyone's who can write it): cut and escaped.
pub fn audit_records(records: &[Record], by_release: bool) -> String {
    let cell = |s: &str, n: usize| e(&truncate_chars(s, n));
    let mut out = String::with_capacity(records.len() * 160 + 128);
    if by_release {
        let _ = writeln!(
            out,
            "{:<RELEASE$}  {:<20}  {:<7}  {:<8}  DESTINATION",
            "RELEASE", "TIME", "ACTION", "OUTCOME"
        );
        for rel in crate::json::audit_by_release(records) {
            for r in &rel.records {
                let _ = writeln!(
                    out,
                    "{:<RELEASE$}  {:<20}  {:<7}  {:<8}  {}",
                    cell(rel.digest, 80),
                    cell(r.time, 40),
                    cell(r.action, 20),
                    cell(r.outcome, 20),
                    e(&destination_cell(r.destination))
                );
            }
        }
        // The sigstore `.sig` artifacts each record carried, after the releases.
        for r in records {
            for s in &r.sigstore {
                let _ = writeln!(
                    out,
                    "{:<RELEASE$}  {:<20}  {:<7}  {:<8}  {} (.sig of {})",
                    cell(&s.digest, 80),
                    cell(&r.time, 40),
                    cell(&r.action, 20),
                    cell(&r.outcome, 20),
                    e(&destination_cell(r.destination.as_ref())),
                    cell(&s.repository, 200)
                );
            }
        }
    } else {
        let _ = writeln!(
            out,
            "{:>4}  {:<20}  {:<7}  {:<8}  {:<16}  {:>4}  DESTINATION",
            "SEQ", "TIME", "ACTION", "OUTCOME", "BUNDLE SHA256", "RELS"
        );
        for r in records {
            let sha = r.bundle_sha256.as_deref().map_or("-", |s| head_chars(s, 16));
            let _ = writeln!(
                out,
                "{:>4}  {:<20}  {:<7}  {:<8}  {:<16}  {:>4}  {}",
                r.seq,
                cell(&r.time, 40),
                cell(&r.action, 20),
                cell(&r.outcome, 20),
                e(sha),
                r.releases.len(),
                e(&destination_cell(r.destination.as_ref()))
            );
        }
    }
    out
}

/// The release keys, entry by entry: where the entry came from (the compiled-in default is
/// said to be the ConfigMap OCP ships), then a line per key (fingerprint, algorithm, date, user
/// IDs) and its subkeys.
pub fn trusted_keys(entries: &[sigbundle::verify::trust::TrustedEntry]) -> String {
    let mut out = String::new();
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let sources: Vec<String> = entry
            .sources
            .iter()
            .map(|src| match src.strip_prefix("embedded:") {
                Some(file) => format!("compiled in, the ConfigMap OCP ships: {}", e(file)),
                None => e(src),
            })
            .collect();
        if entry.name == sigbundle::verify::trust::FILES_ENTRY {
            // Key files are one entry with no name of its own: say where the keys came from.
            let _ = writeln!(out, "keys from --keyring: {}", sources.join(", "));
        } else {
            let _ = writeln!(out, "entry {} ({})", e(&entry.name), sources.join(", "));
        }
        for k in &entry.keys {
            let date = head_chars(&k.created, 10);
            let _ = writeln!(
                out,
                "  {}  {:<8}  {date}  {}",
                k.fingerprint,
                k.algorithm,
                k.user_ids.first().map(|u| e(u)).unwrap_or_default()
            );
            for u in k.user_ids.iter().skip(1) {
                let _ = writeln!(out, "  {:<40}  {:<8}  {:<10}  {}", "", "", "", e(u));
            }
            for sub in &k.subkeys {
                let _ = writeln!(out, "    subkey {sub}");
            }
        }
    }
    out
}

/// `unpack check-path`: one line per hop (from, to, digest, what the bundle holds of it).
pub fn path_checked(bundle: &Path, from: &str, hops: &[sigbundle::update_path::HopCheck]) -> String {
    let mut out = String::with_capacity(hops.len() * 140 + 128);
    let _ = writeln!(
        out,
        "update path from {from}, {} hop(s), against {}",
        hops.len(),
        e(&bundle.display().to_string())
    );
    for h in hops {
        let held = match (h.signatures, h.in_cluster) {
            (0, None) => "MISSING: no valid signature in the bundle; the cluster would refuse this update".to_string(),
            (0, Some(0)) => {
                "MISSING: no valid signature in the bundle or the cluster; the cluster would refuse this update"
                    .to_string()
            }
            (0, Some(c)) => format!("in the cluster already: {c} valid signature(s)"),
            (n, None | Some(0)) => format!("carried: {n} valid signature(s)"),
            (n, Some(c)) => format!("carried: {n} valid signature(s); {c} in the cluster already"),
        };
        let risks = if h.to.risks.is_empty() {
            String::new()
        } else {
            format!(" (conditional, accepted risks: {})", e(&h.to.risks.join(", ")))
        };
        let _ = writeln!(
            out,
            "  {} → {}  {}  {held}{risks}",
            e(&h.from),
            e(&h.to.version),
            h.to.digest
        );
    }
    out
}

/// The bundles a reduced bundle leaves out (`pack --exclude-carried`), one line.
fn reduced(out: &mut String, against: &[String]) {
    if !against.is_empty() {
        let _ = writeln!(
            out,
            "reduced    holds only what bundle(s) {} did not carry",
            against.iter().map(|s| e(s)).collect::<Vec<_>>().join(", ")
        );
    }
}
