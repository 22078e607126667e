//! The binaries' arguments, as clap parses them; what both binaries have (`keys`,
//! `completions`, `man`).

pub mod pack;
pub mod unpack;

/// The arguments of `pack keys` and `unpack keys`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  unpack keys                                   # the compiled-in default: Red Hat's keys
  unpack keys --keyring release-verification.yaml   # a cluster's own ConfigMap, entry by entry
  pack keys --keyring new-key.asc --json")]
pub struct KeysArgs {
    /// Release keyring to list instead of the compiled-in default: key files (together one
    /// entry) or the cluster's release-verification ConfigMap (each verifier-public-key-* entry)
    #[arg(long, value_name = "FILE")]
    pub keyring: Vec<std::path::PathBuf>,
    /// Print as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `completions`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  pack completions bash > ~/.local/share/bash-completion/completions/pack
  unpack completions zsh > ~/.zfunc/_unpack")]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The arguments of `man`.
#[derive(clap::Args)]
#[command(after_help = "Examples:
  pack man --dir ~/.local/share/man/man1 && man pack-key-generate
  unpack man --dir /usr/local/share/man/man1")]
pub struct ManArgs {
    /// Folder to write the pages to (created if missing; pages there are replaced)
    #[arg(long, value_name = "DIR")]
    pub dir: std::path::PathBuf,
}
