//! `unpack`: the air-gapped side of sigbundle. Parses arguments, calls the library, maps errors
//! to the documented exit codes (0 ok, 1 verification failed, 2 usage or I/O error).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Args, Parser, Subcommand, ValueEnum};

use sigbundle::bundle::{CheckOptions, Limits, PackerStatus, VerifiedBundle};
use sigbundle::configmap::Format;
use sigbundle::keyring::Keyring;
use sigbundle::unpack::{self, FileAction};
use sigbundle::verify::rfc3339;
use sigbundle::{cli, escape_name, Error};

const EXAMPLES: &str = "\
Examples:
  # Check a bundle: integrity, the packer's signature, every release signature again
  unpack verify sigs.tar.zst --packer-key packer.pub.asc

  # Write one ConfigMap per release, exactly as `oc adm release mirror` writes them
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --to-dir ./configmaps
  oc apply -f ./configmaps

  # The same as YAML, from an unsigned bundle
  unpack emit sigs.tar.zst --allow-unsigned --to-dir ./configmaps --format yaml

Exit codes: 0 ok, 1 verification failed, 2 usage or I/O error.";

#[derive(Parser)]
#[command(
    name = "unpack",
    version,
    about = "Verify a sigbundle and turn it into what the cluster reads",
    after_help = EXAMPLES
)]
struct Cli {
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
    /// Verify a bundle, then write ConfigMap files for the cluster
    Emit {
        /// The bundle file
        bundle: PathBuf,
        #[command(flatten)]
        check: CheckArgs,
        /// Folder to write one ConfigMap file per release into
        #[arg(long, value_name = "DIR")]
        to_dir: PathBuf,
        /// File format
        #[arg(long, value_enum, default_value_t = FormatArg::OcJson)]
        format: FormatArg,
        /// Replace existing files that differ
        #[arg(long)]
        force: bool,
        /// Print what was written as JSON on stdout
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct CheckArgs {
    /// Trusted packer public key(s); repeatable
    #[arg(long, value_name = "FILE")]
    packer_key: Vec<PathBuf>,
    /// Release keyring file(s); replaces the default (Red Hat's keys)
    #[arg(long, value_name = "FILE")]
    keyring: Vec<PathBuf>,
    /// Accept a bundle without a packer signature (or without keys to check it)
    #[arg(long)]
    allow_unsigned: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Compact JSON, byte-for-byte as `oc adm release mirror --release-image-signature-to-dir`
    OcJson,
    /// The same objects as YAML
    Yaml,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::report("unpack", &e),
    }
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
        release_keys: if a.keyring.is_empty() {
            Keyring::default_release()
        } else {
            Keyring::from_files(&a.keyring)?
        },
        now: SystemTime::now(),
        limits: Limits::default(),
    })
}

fn open(bundle: &Path, check: &CheckArgs, json: bool) -> Result<VerifiedBundle, Error> {
    let opts = check_options(check)?;
    match unpack::open_verified(bundle, &opts) {
        Ok(b) => Ok(b),
        Err(e) => {
            let e = Error::from(e);
            if json {
                let problems = cli::rejected_problems(&e).map(|p| p.to_vec()).unwrap_or_default();
                let out =
                    serde_json::json!({"ok": false, "bundle": bundle, "error": e.to_string(), "problems": problems});
                println!("{}", serde_json::to_string_pretty(&out).expect("serializes"));
            }
            Err(e)
        }
    }
}

fn run(cmd: Command) -> Result<(), Error> {
    match cmd {
        Command::Verify { bundle, check, json } => {
            let b = open(&bundle, &check, json)?;
            if json {
                let out = serde_json::json!({"ok": true, "bundle": bundle, "created": b.manifest.created, "tool": b.manifest.tool, "verified": b, "missing": b.manifest.missing});
                println!("{}", serde_json::to_string_pretty(&out).expect("serializes"));
            } else {
                print_report(&bundle, &b);
            }
            Ok(())
        }
        Command::Emit {
            bundle,
            check,
            to_dir,
            format,
            force,
            json,
        } => {
            let b = open(&bundle, &check, json)?;
            let format = match format {
                FormatArg::OcJson => Format::OcJson,
                FormatArg::Yaml => Format::Yaml,
            };
            let files = unpack::emit_to_dir(&b, &to_dir, format, force)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"ok": true, "bundle_sha256": b.sha256, "files": files})
                    )
                    .expect("serializes")
                );
            } else {
                for f in &files {
                    let action = match f.action {
                        FileAction::Created => "created",
                        FileAction::Unchanged => "unchanged",
                        FileAction::Replaced => "replaced",
                    };
                    println!(
                        "{action:9} {} ({}, {} signature(s))",
                        f.path.display(),
                        f.digest,
                        f.signatures
                    );
                }
                eprintln!(
                    "wrote {} ConfigMap file(s) to {}; load them with: oc apply -f {}",
                    files.len(),
                    to_dir.display(),
                    to_dir.display()
                );
            }
            Ok(())
        }
    }
}

fn print_report(path: &Path, b: &VerifiedBundle) {
    println!("bundle     {}", path.display());
    println!("sha256     {}", b.sha256);
    println!("created    {} by {}", b.manifest.created, escape_name(&b.manifest.tool));
    match &b.packer {
        PackerStatus::Verified { fingerprint, signed_at } => {
            let at = signed_at.map(rfc3339).unwrap_or_default();
            println!("packer     {fingerprint} (signature verified, signed {at})");
        }
        PackerStatus::NotChecked { claimed } => {
            println!("packer     {} (NOT checked: no --packer-key)", escape_name(claimed))
        }
        PackerStatus::Unsigned => {
            println!("packer     none (unsigned bundle, accepted with --allow-unsigned)")
        }
    }
    println!();
    println!("{:<71}  {:<4}  {:<16}  IDENTITY", "RELEASE", "SIGS", "SIGNER");
    let mut sigs = 0;
    for r in &b.releases {
        for (i, s) in r.signatures.iter().enumerate() {
            let signer = s
                .report
                .signer_cert
                .as_deref()
                .map_or("?", |f| &f[f.len().saturating_sub(16)..]);
            let identity = escape_name(s.report.identity.as_deref().unwrap_or(""));
            let (d, n) = if i == 0 {
                (r.digest.to_string(), r.signatures.len().to_string())
            } else {
                (String::new(), String::new())
            };
            println!("{d:<71}  {n:<4}  {signer:<16}  {identity}");
            for w in &s.report.warnings {
                println!("{:<71}  warning: {}", "", escape_name(w));
            }
            sigs += 1;
        }
    }
    for m in &b.manifest.missing {
        println!(
            "{:<71}  {:<4}  missing: {}",
            m.digest.to_string(),
            0,
            escape_name(&m.reason)
        );
    }
    eprintln!("OK: {} release(s), {sigs} signature(s) verified", b.releases.len());
}
