//! `unpack`: the air-gapped side of sigbundle. Parses arguments, calls the library, maps errors
//! to the documented exit codes (0 ok, 1 verification failed, 2 usage or I/O error).
#![deny(clippy::string_slice)]

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

#[path = "../bin-common/startup.rs"]
mod startup;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use sigbundle::audit::{match_receipt, AuditLog, ChainCheck, Destination, Receipt, ReceiptMatch};
use sigbundle::bundle::{CheckOptions, Limits, PackerStatus, ReleaseSink, VerifiedBundle};
use sigbundle::configmap::Format;
use sigbundle::digest::Digest;
use sigbundle::error::Error;
use sigbundle::keyring::Keyring;
use sigbundle::text::{escape_name, tail_chars, terminal_safe};
use sigbundle::unpack::{self, DirEmitter, FileAction};
use sigbundle::verify::rfc3339;
use sigbundle::verify::trust::ReleaseTrust;
use sigbundle::{cli, cluster};

/// A line on stdout, with every character that could act on a terminal escaped (names and
/// texts from bundles, manifests, logs and receipts are printed; see `terminal_safe`).
macro_rules! outln {
    ($($t:tt)*) => {{
        let line = format!($($t)*);
        println!("{}", terminal_safe(&line));
    }};
}

/// A line on stderr, escaped as [`outln`] escapes.
macro_rules! errln {
    ($($t:tt)*) => {{
        let line = format!($($t)*);
        eprintln!("{}", terminal_safe(&line));
    }};
}

use cli::print_json;

const EXAMPLES: &str = "\
Examples:
  # Check a bundle: integrity, the packer's signature, every release signature again
  unpack verify sigs.tar.zst --packer-key packer.pub.asc

  # Write one ConfigMap per release, exactly as `oc adm release mirror` writes them
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --to-dir ./configmaps
  oc apply -f ./configmaps

  # The same as YAML, from an unsigned bundle
  unpack emit sigs.tar.zst --allow-unsigned --to-dir ./configmaps --format yaml

  # A signature-store folder for a web server the cluster's spec.signatureStores points at
  unpack emit sigs.tar.zst --packer-key packer.pub.asc \\
      --store-dir /srv/sigs --store-url https://sigs.internal/

  # One bare signature, piped
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --signature sha256:<hex> > signature-1

  # Apply to the cluster of the current kubeconfig context; look first with a server dry run
  unpack apply sigs.tar.zst --packer-key packer.pub.asc --dry-run
  unpack apply sigs.tar.zst --packer-key packer.pub.asc --context admin

  # What crossed, and is the record intact?
  unpack audit
  unpack audit --check
  unpack audit --receipt sigs.tar.zst.receipt.json

Exit codes: 0 ok, 1 verification failed, 2 usage or I/O error.";

#[derive(Parser)]
#[command(
    name = "unpack",
    version,
    about = "Verify a sigbundle and turn it into what the cluster reads",
    after_help = EXAMPLES
)]
struct Cli {
    /// Audit log to append to [default: $XDG_STATE_HOME/sigbundle/audit.log]
    #[arg(long, global = true, value_name = "FILE")]
    audit_log: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a bundle completely and report what it holds
    Verify {
        /// The bundle file
        bundle: PathBuf,
        #[command(flatten)]
        check: CheckArgs,
        /// Print the report as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Show what a bundle holds (marked "not verified" unless keys are given)
    Inspect {
        /// The bundle file
        bundle: PathBuf,
        /// Trusted packer public key(s): verify the bundle too
        #[arg(long, value_name = "FILE")]
        packer_key: Vec<PathBuf>,
        /// Release keyring file(s) to verify against (with --packer-key; default Red Hat's)
        #[arg(long, value_name = "FILE")]
        keyring: Vec<PathBuf>,
        /// Print as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Verify a bundle, then write what the cluster needs
    #[command(group(ArgGroup::new("target").required(true).args(["to_dir", "store_dir", "signature"])))]
    Emit {
        /// The bundle file
        bundle: PathBuf,
        #[command(flatten)]
        check: CheckArgs,
        /// Write one ConfigMap file per release into this folder (for `oc apply -f`)
        #[arg(long, value_name = "DIR")]
        to_dir: Option<PathBuf>,
        /// File format with --to-dir
        #[arg(long, value_enum, default_value_t = FormatArg::OcJson)]
        format: FormatArg,
        /// Write the signatures in the mirror layout into this folder (a signature store)
        #[arg(long, value_name = "DIR")]
        store_dir: Option<PathBuf>,
        /// With --store-dir: the URL the folder will be served at, for the ClusterVersion patch
        #[arg(long, value_name = "URL", requires = "store_dir")]
        store_url: Option<String>,
        /// Write the bare bytes of one signature to stdout (for piping; refuses a terminal)
        #[arg(long, value_name = "DIGEST")]
        signature: Option<String>,
        /// With --signature: which signature of the release, 1-based
        #[arg(long, default_value_t = 1, requires = "signature")]
        index: usize,
        /// Replace existing files that differ
        #[arg(long)]
        force: bool,
        /// Print what was written as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Verify a bundle, then apply its ConfigMaps to the cluster (server-side apply)
    Apply {
        /// The bundle file
        bundle: PathBuf,
        #[command(flatten)]
        check: CheckArgs,
        /// kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<PathBuf>,
        /// kubeconfig context [default: the current context]
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
        /// Ask the server for a dry run and print the plan; nothing is stored
        #[arg(long)]
        dry_run: bool,
        /// Overwrite keys that already hold different bytes
        #[arg(long)]
        force_conflicts: bool,
        /// Print the plan/outcome as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// What crossed: list the audit log, check its hash chain, match a pack receipt
    Audit {
        /// Verify the hash chain and report the first broken link
        #[arg(long, conflicts_with_all = ["head", "receipt"])]
        check: bool,
        /// Print the newest record's hash (for an outside logbook)
        #[arg(long, conflicts_with = "receipt")]
        head: bool,
        /// Match a pack receipt (FILE.receipt.json) against the log
        #[arg(long, value_name = "FILE")]
        receipt: Option<PathBuf>,
        /// List per release instead of per record
        #[arg(long)]
        by_release: bool,
        /// Print as JSON on stdout
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct CheckArgs {
    /// Trusted packer public key(s); repeatable
    #[arg(long, value_name = "FILE")]
    packer_key: Vec<PathBuf>,
    /// Release keyring: key files (armored or binary; together one entry, any key enough) or the
    /// cluster's release-verification ConfigMap (each verifier-public-key-* entry required);
    /// replaces the default (Red Hat's keys)
    #[arg(long, value_name = "FILE")]
    keyring: Vec<PathBuf>,
    /// Accept a bundle without a packer signature (or without keys to check it)
    #[arg(long)]
    allow_unsigned: bool,
    /// Also refuse what the cluster accepts but sequoia's standard policy does not (MD5, SHA-1,
    /// malformed messages, loose JSON): verdict strict-refused
    #[arg(long)]
    strict: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Compact JSON, byte-for-byte as `oc adm release mirror --release-image-signature-to-dir`
    OcJson,
    /// The same objects as YAML
    Yaml,
}

fn main() -> ExitCode {
    startup::ignore_file_size_signal();
    startup::return_freed_memory();
    startup::escape_panic_messages();
    let cli = Cli::parse();
    let log = AuditLog::new(cli.audit_log.clone().unwrap_or_else(AuditLog::default_path));
    match run(cli.command, &log) {
        Ok(code) => code,
        Err(e) => cli::report("unpack", &e),
    }
}

/// The release trust from `--keyring` (default: Red Hat's), its warnings said on stderr.
fn release_trust(tool: &str, keyring: &[PathBuf]) -> Result<ReleaseTrust, Error> {
    let trust = ReleaseTrust::from_args(keyring)?;
    for w in &trust.warnings {
        eprintln!("{tool}: warning: {}", sigbundle::text::escape_name(w));
    }
    Ok(trust)
}

fn check_options(a: &CheckArgs) -> Result<CheckOptions, Error> {
    if a.packer_key.is_empty() && !a.allow_unsigned {
        return Err(Error::Usage(
            "give the packer's public key with --packer-key FILE, or accept an unsigned bundle with --allow-unsigned"
                .into(),
        ));
    }
    Ok(CheckOptions {
        packer_keys: if a.packer_key.is_empty() {
            None
        } else {
            Some(Keyring::from_files(&a.packer_key)?)
        },
        allow_unsigned: a.allow_unsigned,
        release_keys: release_trust("unpack", &a.keyring)?,
        strict: a.strict,
        now: SystemTime::now(),
        limits: Limits::default(),
        keep_bodies: true,
    })
}

/// Append a record of a failed or refused step; if that fails too, say so on stderr and keep
/// the original error (which is what the user must see first).
fn record_failure(log: &AuditLog, rec: sigbundle::audit::NewRecord) {
    if let Err(e) = log.append(rec) {
        errln!("unpack: warning: the failure could not be recorded in the audit log: {e}");
    }
}

/// Verify a bundle; a refusal is recorded in the audit log (and reported as JSON with --json).
fn open(
    bundle: &Path,
    check: &CheckArgs,
    json: bool,
    log: &AuditLog,
    action: &'static str,
    sink: Option<&dyn ReleaseSink>,
) -> Result<VerifiedBundle, Error> {
    let mut opts = check_options(check)?;
    // A step that could not be recorded is not taken: make sure the log can take a record
    // before the bundle is even read.
    log.ready()?;
    // Only emit and apply keep the signatures' bytes once they are verified, and not when a
    // sink takes each release as it is verified.
    opts.keep_bodies = action != "verify" && sink.is_none();
    match unpack::open_verified(bundle, &opts, sink) {
        Ok(b) => Ok(b),
        Err(e) => {
            if cli::is_rejection(&e) {
                record_failure(log, unpack::record_refused(bundle, &e, action));
            }
            let e = Error::from(e);
            if json {
                let problems = cli::rejected_problems(&e).map(|p| p.to_vec()).unwrap_or_default();
                let out = serde_json::json!({"ok": false, "bundle": bundle, "error": e.to_string(), "problems": problems, "more_problems": cli::more_problems(&e)});
                print_json(&out);
            }
            Err(e)
        }
    }
}

fn run(cmd: Command, log: &AuditLog) -> Result<ExitCode, Error> {
    match cmd {
        Command::Verify { bundle, check, json } => {
            let b = open(&bundle, &check, json, log, "verify", None)?;
            log.append(unpack::record_ok(&bundle, &b, "verify", None))?;
            if json {
                let out = serde_json::json!({"ok": true, "bundle": bundle, "created": b.manifest.created, "tool": b.manifest.tool, "verified": b, "missing": b.manifest.missing});
                print_json(&out);
            } else {
                print_report(&bundle, &b)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect {
            bundle,
            packer_key,
            keyring,
            json,
        } => inspect(&bundle, packer_key, keyring, json, log),
        Command::Emit {
            bundle,
            check,
            to_dir,
            format,
            store_dir,
            store_url,
            signature,
            index,
            force,
            json,
        } => {
            // Refuse a terminal before reading anything: bare signatures are binary.
            let wanted = match &signature {
                Some(d) => {
                    if std::io::stdout().is_terminal() {
                        return Err(Error::Usage(
                            "--signature writes binary data; redirect stdout to a file or a pipe".into(),
                        ));
                    }
                    Some(Digest::parse(d)?)
                }
                None => None,
            };
            // ConfigMap files are written while the bundle is verified, and renamed into place
            // only once it has passed.
            let emitter = to_dir.as_ref().map(|d| DirEmitter::new(d, format_of(format).0, force));
            let b = open(
                &bundle,
                &check,
                json,
                log,
                "emit",
                emitter.as_ref().map(|e| e as &dyn ReleaseSink),
            )?;
            let result = emit(
                &b, emitter, to_dir, format, store_dir, store_url, wanted, index, force, json,
            );
            match result {
                Ok(dest) => {
                    log.append(unpack::record_ok(&bundle, &b, "emit", Some(dest)))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    record_failure(log, unpack::record_failed(&bundle, &b, "emit", &e));
                    Err(e)
                }
            }
        }
        Command::Apply {
            bundle,
            check,
            kubeconfig,
            context,
            dry_run,
            force_conflicts,
            json,
        } => {
            let b = open(&bundle, &check, json, log, "apply", None)?;
            let target = cluster::Target { kubeconfig, context };
            let opts = cluster::ApplyOptions {
                dry_run,
                force_conflicts,
            };
            match cluster::apply_blocking(&b, &target, opts) {
                Ok(report) => {
                    let dest = Destination::Cluster {
                        server: report.server.clone(),
                        context: report.context.clone(),
                        user: report.user.clone(),
                        namespace: report.namespace.to_string(),
                        dry_run,
                    };
                    let conflicts = report.unresolved_conflicts();
                    let mut rec = unpack::record_ok(&bundle, &b, "apply", Some(dest));
                    if conflicts > 0 {
                        rec.outcome = "conflict";
                        rec.problems = report
                            .items
                            .iter()
                            .filter(|i| i.action == cluster::Action::Conflict && !i.applied)
                            .map(|i| cluster::describe(i, dry_run))
                            .collect();
                    }
                    log.append(rec)?;
                    if json {
                        print_json(&report);
                    } else {
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
                    if conflicts > 0 {
                        errln!("unpack: {conflicts} release(s) left in conflict: the cluster holds other bytes under the same keys (--force-conflicts to overwrite)");
                        return Ok(cli::exit(sigbundle::error::ExitClass::Verification));
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    record_failure(log, unpack::record_failed(&bundle, &b, "apply", &e));
                    Err(e.into())
                }
            }
        }
        Command::Audit {
            check,
            head,
            receipt,
            by_release,
            json,
        } => audit(log, check, head, receipt, by_release, json),
    }
}

#[allow(clippy::too_many_arguments)]
fn emit(
    b: &VerifiedBundle,
    emitter: Option<DirEmitter>,
    to_dir: Option<PathBuf>,
    format: FormatArg,
    store_dir: Option<PathBuf>,
    store_url: Option<String>,
    signature: Option<Digest>,
    index: usize,
    force: bool,
    json: bool,
) -> Result<Destination, Error> {
    if let Some(digest) = signature {
        write_stdout(unpack::signature_bytes(b, &digest, index)?)?;
        return Ok(Destination::Stdout {
            digest: digest.to_string(),
            index,
        });
    }
    if let Some(dir) = store_dir {
        let url = store_url.unwrap_or_else(|| "https://<where this folder is served>/".to_string());
        let s = unpack::emit_store_dir(b, &dir, &url, force)?;
        if json {
            print_json(
                &serde_json::json!({"ok": true, "bundle_sha256": b.sha256, "files": s.files, "patch": s.patch_command}),
            );
        } else {
            print_files(&s.files)?;
            errln!(
                "wrote {} signature(s) to {} in the mirror layout; serve it over HTTPS and point the cluster at it:",
                s.files.len(),
                dir.display()
            );
            outln!("{}", s.patch_command);
            errln!("(setting spec.signatureStores replaces the default Red Hat stores)");
        }
        return Ok(Destination::StoreDir {
            path: dir.display().to_string(),
        });
    }
    let (Some(dir), Some(emitter)) = (to_dir, emitter) else {
        unreachable!("clap requires one target, and --to-dir makes an emitter")
    };
    let files = emitter.commit()?;
    if json {
        print_json(&serde_json::json!({"ok": true, "bundle_sha256": b.sha256, "files": files}));
    } else {
        print_files(&files)?;
        errln!(
            "wrote {} ConfigMap file(s) to {}; load them with: oc apply -f {}",
            files.len(),
            dir.display(),
            dir.display()
        );
    }
    Ok(Destination::ConfigmapDir {
        path: dir.display().to_string(),
        format: format_of(format).1.to_string(),
    })
}

/// The ConfigMap format of `--format`, and its name for the audit record.
fn format_of(format: FormatArg) -> (Format, &'static str) {
    match format {
        FormatArg::OcJson => (Format::OcJson, "oc-json"),
        FormatArg::Yaml => (Format::Yaml, "yaml"),
    }
}

fn print_files(files: &[unpack::EmittedFile]) -> Result<(), Error> {
    let mut out = String::with_capacity(files.len() * 110);
    for f in files {
        let action = match f.action {
            FileAction::Created => "created",
            FileAction::Unchanged => "unchanged",
            FileAction::Replaced => "replaced",
        };
        let _ = writeln!(out, "{action:9} {} ({})", f.path.display(), f.digest);
    }
    write_stdout(terminal_safe(&out).as_bytes())
}

/// Write to stdout in one go (a line-buffered `println!` per release made 10,000 system
/// calls); also the bare signature bytes of `emit --signature`.
fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(|e| Error::Usage(format!("cannot write to stdout: {e}")))
}

fn inspect(
    bundle: &Path,
    packer_key: Vec<PathBuf>,
    keyring: Vec<PathBuf>,
    json: bool,
    log: &AuditLog,
) -> Result<ExitCode, Error> {
    if !packer_key.is_empty() {
        // With keys, inspect is a verify that also says so.
        let check = CheckArgs {
            packer_key,
            keyring,
            allow_unsigned: false,
            strict: false,
        };
        let b = open(bundle, &check, json, log, "verify", None)?;
        log.append(unpack::record_ok(bundle, &b, "verify", None))?;
        if json {
            print_json(
                &serde_json::json!({"verified": true, "manifest": b.manifest, "packer": b.packer, "sha256": b.sha256}),
            );
        } else {
            print_report(bundle, &b)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let m = unpack::read_manifest_unverified(bundle)?;
    if json {
        print_json(&serde_json::json!({"verified": false, "manifest": m}));
        return Ok(ExitCode::SUCCESS);
    }
    write_stdout(terminal_safe(&unpack::render_claims(bundle, &m)).as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn audit(
    log: &AuditLog,
    check: bool,
    head: bool,
    receipt: Option<PathBuf>,
    by_release: bool,
    json: bool,
) -> Result<ExitCode, Error> {
    if check || head {
        let c = log.check()?;
        if json {
            print_json(&c);
        }
        return Ok(match c {
            ChainCheck::Intact { records, head: h } => {
                if head && !json {
                    outln!("{h}");
                } else if !json {
                    outln!("intact: {records} record(s) in {}, head {h}", log.path.display());
                }
                ExitCode::SUCCESS
            }
            ChainCheck::Broken { line, reason } => {
                errln!(
                    "unpack: audit log {} is broken at line {line}: {}",
                    log.path.display(),
                    escape_name(&reason)
                );
                cli::exit(sigbundle::error::ExitClass::Verification)
            }
        });
    }
    let records = log.read_all()?;
    if let Some(path) = receipt {
        let r = Receipt::read(&path)?;
        let m = match_receipt(&r, &records);
        if json {
            print_json(&m);
        }
        return Ok(match m {
            ReceiptMatch::ImportedAsPacked { seq, time, action } => {
                if !json {
                    outln!(
                        "imported as packed: {} ({} release(s)) by {} at {}, audit record {seq}",
                        escape_name(&r.bundle),
                        r.releases.len(),
                        escape_name(&action),
                        escape_name(&time)
                    );
                }
                ExitCode::SUCCESS
            }
            ReceiptMatch::Differs { details } => {
                if !json {
                    outln!("NOT imported as packed: {}", escape_name(&r.bundle));
                    for d in details {
                        outln!("  {}", escape_name(&d));
                    }
                }
                cli::exit(sigbundle::error::ExitClass::Verification)
            }
            ReceiptMatch::NotImported => {
                if !json {
                    outln!(
                        "not imported: no audit record of bundle {} (sha256 {})",
                        escape_name(&r.bundle),
                        escape_name(&r.bundle_sha256)
                    );
                }
                cli::exit(sigbundle::error::ExitClass::Verification)
            }
        });
    }
    if json {
        print_json(&records);
        return Ok(ExitCode::SUCCESS);
    }
    write_stdout(terminal_safe(&sigbundle::audit::render_records(&records, by_release)).as_bytes())?;
    errln!("{} record(s) in {}", records.len(), log.path.display());
    Ok(ExitCode::SUCCESS)
}

fn print_report(path: &Path, b: &VerifiedBundle) -> Result<(), Error> {
    let mut out = String::with_capacity(b.releases.len() * 120 + 1024);
    let _ = writeln!(out, "bundle     {}", escape_name(&path.display().to_string()));
    let _ = writeln!(out, "sha256     {}", b.sha256);
    let _ = writeln!(
        out,
        "created    {} by {}",
        escape_name(&b.manifest.created),
        escape_name(&b.manifest.tool)
    );
    match &b.packer {
        PackerStatus::Verified {
            fingerprint,
            signed_at,
            warnings,
        } => {
            let at = signed_at.map(rfc3339).unwrap_or_default();
            let _ = writeln!(out, "packer     {fingerprint} (signature verified, signed {at})");
            for w in warnings {
                let _ = writeln!(out, "           warning: {}", escape_name(w));
            }
        }
        PackerStatus::NotChecked { claimed } => {
            let _ = writeln!(
                out,
                "packer     {} (NOT checked: no --packer-key)",
                escape_name(claimed)
            );
        }
        PackerStatus::Unsigned => {
            let _ = writeln!(out, "packer     none (unsigned bundle, accepted with --allow-unsigned)");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{:<71}  {:<4}  {:<16}  IDENTITY", "RELEASE", "SIGS", "SIGNER");
    let mut sigs = 0;
    for r in &b.releases {
        for (i, s) in r.signatures.iter().enumerate() {
            let signer = escape_name(s.report.signer_cert.as_deref().map_or("?", |f| tail_chars(f, 16)));
            let identity = escape_name(s.report.identity.as_deref().unwrap_or(""));
            let (d, n) = if i == 0 {
                (r.digest.to_string(), r.signatures.len().to_string())
            } else {
                (String::new(), String::new())
            };
            let _ = writeln!(out, "{d:<71}  {n:<4}  {signer:<16}  {identity}");
            for w in &s.report.warnings {
                let _ = writeln!(out, "{:<71}  warning: {}", "", escape_name(w));
            }
            sigs += 1;
        }
    }
    for m in &b.manifest.missing {
        let _ = writeln!(
            out,
            "{:<71}  {:<4}  missing: {}",
            m.digest.to_string(),
            0,
            escape_name(&m.reason)
        );
    }
    write_stdout(terminal_safe(&out).as_bytes())?;
    if let PackerStatus::Verified { warnings, .. } = &b.packer {
        for w in warnings {
            errln!("unpack: warning: {}", escape_name(w));
        }
    }
    errln!("OK: {} release(s), {sigs} signature(s) verified", b.releases.len());
    Ok(())
}
