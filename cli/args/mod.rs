//! The binaries' arguments, as clap parses them; `keys`, which both binaries have.

pub mod pack;
pub mod unpack;

/// The arguments of `pack keys` and `unpack keys`.
#[derive(clap::Args)]
pub struct KeysArgs {
    /// Release keyring to list instead of the compiled-in default: key files (together one
    /// entry) or the cluster's release-verification ConfigMap (each verifier-public-key-* entry)
    #[arg(long, value_name = "FILE")]
    pub keyring: Vec<std::path::PathBuf>,
    /// Print as JSON on stdout
    #[arg(long)]
    pub json: bool,
}
