//! `pack`: the connected side of sigbundle. Parses arguments, calls the library, maps errors to
//! the documented exit codes (0 ok, 1 verification failed, 2 usage or I/O error).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use sigbundle::bundle::Compression;
use sigbundle::fsutil::Overwrite;
use sigbundle::keyring::Keyring;
use sigbundle::pack::{self, Output, PackOptions, Request};
use sigbundle::packer::{self, PackerSigner, PASSPHRASE_ENV};
use sigbundle::store::{FetchConfig, Fetcher, Store};
use sigbundle::{cli, Error};

const EXAMPLES: &str = "\
Examples:
  # Two releases by digest, from Red Hat's stores, signed by your packer key
  pack --sign-key packer.key -o sigs.tar.zst \\
      sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363 \\
      quay.io/openshift-release-dev/ocp-release@sha256:195de2a5ef3af1083620a62a45ea61ac1233ffa27bbce7b30609a69775aeca19

  # From a local folder in the mirror layout, unsigned, gzip
  pack --store ./signatures --no-sign --compression gzip -o sigs.tar.gz sha256:<hex>

  # Make a packer key pair (passphrase, if any, from SIGBUNDLE_KEY_PASSPHRASE)
  pack key generate --name 'Ops packer <ops@example.com>' -o packer

Exit codes: 0 ok, 1 verification failed (no valid signature), 2 usage or I/O error.";

#[derive(Parser)]
#[command(
    name = "pack",
    version,
    about = "Collect OpenShift release signatures into one verified, signed, reproducible bundle",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    pack: PackArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Manage packer keys
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Generate a packer key pair: PREFIX.key (secret, 0600) and PREFIX.pub.asc (public)
    Generate {
        /// User ID of the key, e.g. 'Ops packer <ops@example.com>'
        #[arg(long)]
        name: String,
        /// Path prefix of the two files
        #[arg(short, long, value_name = "PREFIX")]
        output: PathBuf,
        /// Replace existing files
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
#[command(group(ArgGroup::new("signing").required(true).args(["sign_key", "no_sign"])))]
struct PackArgs {
    /// Releases: sha256:<hex>, or a pullspec by digest registry/repo@sha256:<hex>
    #[arg(value_name = "RELEASE", required = true)]
    releases: Vec<String>,
    /// Signature store: a folder in the mirror layout or an http(s) URL; repeatable, tried in
    /// order [default: Red Hat's two stores]
    #[arg(long = "store", value_name = "DIR|URL")]
    stores: Vec<String>,
    /// Release keyring file(s), armored or binary; replaces the default (Red Hat's keys)
    #[arg(long, value_name = "FILE")]
    keyring: Vec<PathBuf>,
    /// Secret packer key to sign the bundle with (passphrase from SIGBUNDLE_KEY_PASSPHRASE)
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
    /// Write an unsigned bundle (unpack then needs --allow-unsigned)
    #[arg(long)]
    no_sign: bool,
    /// Bundle file to write, or - for standard output
    #[arg(short, long, value_name = "FILE", required = true)]
    output: Option<PathBuf>,
    /// Compression of the bundle
    #[arg(long, value_enum, default_value_t = CompressionArg::Zstd)]
    compression: CompressionArg,
    /// Replace an existing output file
    #[arg(long)]
    force: bool,
    /// Pack what has valid signatures and record the rest as missing (else: exit 1, no bundle)
    #[arg(long)]
    allow_missing: bool,
    /// Collect from every store, not only the first with a valid signature
    #[arg(long)]
    all_stores: bool,
    /// Releases fetched at once
    #[arg(long, default_value_t = 16, value_name = "N")]
    concurrency: usize,
    /// Per-request timeout, seconds
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
    /// Retries on timeouts, connection errors and 5xx
    #[arg(long, default_value_t = 3, value_name = "N")]
    retries: u32,
    /// Extra CA certificates (PEM) for private stores
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    json: bool,
    /// Print nothing but errors
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum CompressionArg {
    Zstd,
    Gzip,
    None,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Key(KeyCommand::Generate {
            name,
            output,
            force,
        })) => key_generate(&name, &output, force),
        None => run_pack(cli.pack),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::report("pack", &e),
    }
}

fn passphrase() -> Option<String> {
    std::env::var(PASSPHRASE_ENV).ok().filter(|p| !p.is_empty())
}

fn key_generate(name: &str, prefix: &std::path::Path, force: bool) -> Result<(), Error> {
    let overwrite = if force {
        Overwrite::Always
    } else {
        Overwrite::Never
    };
    let g = packer::generate(name, prefix, passphrase().as_deref(), overwrite)?;
    println!("{}", g.fingerprint);
    eprintln!(
        "wrote {} (secret) and {} (public); give the public one to unpack --packer-key",
        g.secret_path.display(),
        g.public_path.display()
    );
    Ok(())
}

fn run_pack(a: PackArgs) -> Result<(), Error> {
    let requests = a
        .releases
        .iter()
        .map(|r| Request::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let stores = if a.stores.is_empty() {
        Store::red_hat()
    } else {
        a.stores
            .iter()
            .map(|s| Store::parse(s))
            .collect::<Result<_, _>>()?
    };
    let release_keys = if a.keyring.is_empty() {
        Keyring::default_release()
    } else {
        Keyring::from_files(&a.keyring)?
    };
    let signer = match &a.sign_key {
        Some(path) => Some(PackerSigner::from_file(path, passphrase().as_deref())?),
        None => None,
    };
    let output = match a.output.as_deref() {
        Some(p) if p.as_os_str() == "-" => Output::Stdout,
        Some(p) => Output::File {
            path: p.to_path_buf(),
            overwrite: if a.force {
                Overwrite::Always
            } else {
                Overwrite::Never
            },
        },
        None => return Err(Error::Usage("-o FILE is required".into())),
    };
    let fetcher = Fetcher::new(FetchConfig {
        timeout: Duration::from_secs(a.timeout),
        retries: a.retries,
        ca_file: a.ca_file.clone(),
        ..FetchConfig::default()
    })?;
    let total = pack::collapse(&requests).len() as u64;
    let bar = if !a.quiet && cli::stderr_is_terminal() {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} fetching {pos}/{len} releases [{elapsed}] {wide_msg}",
            )
            .expect("a valid template"),
        );
        Some(b)
    } else {
        None
    };
    let quiet = a.quiet;
    let progress_bar = bar.clone();
    let progress: pack::Progress = Arc::new(move |o| {
        let valid = o
            .signatures
            .iter()
            .filter(|j| j.report.verdict.is_valid())
            .count();
        let line = match &o.store {
            Some(s) => format!("{}: {valid} valid signature(s) from {s}", o.digest),
            None => format!("{}: no valid signature", o.digest),
        };
        match &progress_bar {
            Some(b) => {
                b.inc(1);
                b.set_message(line);
            }
            None if !quiet => eprintln!("{line}"),
            None => {}
        }
        for j in o.signatures.iter().filter(|j| !j.report.verdict.is_valid()) {
            let msg = format!("  {} signature-{}: {}", j.store, j.index, j.report.verdict);
            match &progress_bar {
                Some(b) => b.println(msg),
                None if !quiet => eprintln!("{msg}"),
                None => {}
            }
        }
    });
    let opts = PackOptions {
        stores,
        release_keys,
        signer,
        compression: match a.compression {
            CompressionArg::Zstd => Compression::Zstd,
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::None => Compression::None,
        },
        output,
        created: pack::source_date_epoch()?,
        concurrency: a.concurrency,
        allow_missing: a.allow_missing,
        all_stores: a.all_stores,
        fetcher,
        progress: Some(progress),
    };
    let summary = pack::pack_blocking(&requests, &opts);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = summary?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).expect("a summary serializes")
        );
    } else if !a.quiet {
        for m in &summary.missing {
            eprintln!("missing: {} ({})", m.digest, m.reason);
        }
        eprintln!(
            "packed {} release(s), {} signature(s) into {} ({} bytes, sha256 {}), packer {}, in {:.2}s",
            summary.releases,
            summary.signatures,
            summary.output,
            summary.bundle_bytes,
            summary.bundle_sha256,
            summary.packer,
            summary.elapsed_seconds
        );
    }
    Ok(())
}
