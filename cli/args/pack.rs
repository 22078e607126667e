//! `pack`'s arguments: the packing run (inputs, stores, registry, output, fetching) and
//! `pack key generate`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use sigbundle::graph::DEFAULT_GRAPH_URL;
use sigbundle::resolve::{self, Arch};

const EXAMPLES: &str = "\
Examples:
  # By digest, and by pullspec with a digest, from Red Hat's stores, signed by your packer key
  pack --sign-key packer.key -o sigs.tar.zst \\
      sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363 \\
      quay.io/openshift-release-dev/ocp-release@sha256:195de2a5ef3af1083620a62a45ea61ac1233ffa27bbce7b30609a69775aeca19

  # By tag (resolved through the registry; pull secret from --authfile or the usual places)
  pack --sign-key packer.key -o sigs.tar.zst quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64

  # By version: tag <version>-<arch> of --release-repo
  pack --sign-key packer.key -o sigs.tar.zst --arch multi 4.15.0 4.15.1

  # A whole channel range from the update service
  pack --sign-key packer.key -o sigs.tar.zst \\
      --channel stable-4.13 --min-version 4.13.0 --max-version 4.13.3

  # A list file: one digest, pullspec, version or channel:<name> per line, # comments
  pack --sign-key packer.key -o sigs.tar.zst --from-file releases.txt

  # The releases an oc-mirror ImageSetConfiguration mirrors (its channels, ranges, architectures)
  pack --sign-key packer.key -o sigs.tar.zst --from-isc imageset-config.yaml

  # Look before packing: resolve and fetch, print the plan, write nothing
  pack --dry-run --channel stable-4.13

  # From a local folder in the mirror layout, unsigned, gzip
  pack --store ./signatures --no-sign --compression gzip -o sigs.tar.gz sha256:<hex>

  # Also the sigstore .sig artifacts 4.21+ nodes require, of the release and its components
  pack --sign-key packer.key -o sigs.tar.zst --sigstore --sigstore-components \\
      quay.io/openshift-release-dev/ocp-release:4.21.0-x86_64

  # Make a packer key pair (passphrase from SIGBUNDLE_KEY_PASSPHRASE, or typed on a terminal)
  pack key generate --name 'Ops packer <ops@example.com>' -o packer

  # The release keys signatures are checked against, and where they come from
  pack keys

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
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub pack: PackArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Manage packer keys
    #[command(subcommand)]
    Key(KeyCommand),
    /// List the release keys signatures are checked against (compiled in, or --keyring)
    Keys(super::KeysArgs),
    /// Add your packer signature to a signed bundle (two-person control: unpack
    /// --require-signers 2); the bundle is verified first, only manifest.json.asc changes
    #[command(after_help = "Examples:
  # The second person checks the first packer's signature, then adds theirs (in place)
  pack cosign sigs.tar.zst --sign-key second.key --packer-key first.pub.asc

  # On the air-gapped side: both must have signed
  unpack verify sigs.tar.zst --packer-key first.pub.asc --packer-key second.pub.asc --require-signers 2

Exit codes: 0 ok, 1 the bundle does not verify, 2 usage or I/O error (a key that already signed).")]
    Cosign(CosignArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout
    Completions(super::CompletionsArgs),
    /// Write the manual pages (section 1) of every command into a folder
    Man(super::ManArgs),
}

#[derive(Args)]
pub struct CosignArgs {
    /// The signed bundle
    pub bundle: PathBuf,
    /// Your packer secret key (passphrase from SIGBUNDLE_KEY_PASSPHRASE, or typed on a terminal)
    #[arg(long, value_name = "FILE")]
    pub sign_key: PathBuf,
    /// Write the co-signed bundle here instead of replacing BUNDLE
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub check: super::unpack::CheckArgs,
    /// The result as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a packer key pair: PREFIX.key (secret, 0600) and PREFIX.pub.asc (public)
    #[command(after_help = "Examples:
  pack key generate --name 'Ops packer <ops@example.com>' -o packer
  # Non-interactive, protected (else it is asked for on a terminal, or the key is unprotected)
  SIGBUNDLE_KEY_PASSPHRASE=... pack key generate --name 'CI packer <ci@example.com>' -o ci")]
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
#[command(group(ArgGroup::new("signing").args(["sign_key", "no_sign"])))]
pub struct PackArgs {
    /// Releases: sha256:<hex>, registry/repo@sha256:<hex>, registry/repo:tag, a version
    /// (4.15.0), or channel:<name>
    #[arg(value_name = "RELEASE")]
    pub releases: Vec<String>,
    /// File with one release per line (# comments, blank lines ignored); repeatable
    #[arg(long, value_name = "FILE", help_heading = "Inputs")]
    pub from_file: Vec<PathBuf>,
    /// An oc-mirror ImageSetConfiguration: the releases of its mirror.platform (channels with
    /// their own minVersion/maxVersion, architectures, release), picked as oc-mirror v2 picks
    /// them; other sections are not read; repeatable
    #[arg(long, value_name = "FILE", help_heading = "Inputs")]
    pub from_isc: Vec<PathBuf>,
    /// Leave out what an earlier bundle carried: its receipt (FILE.receipt.json) or the bundle
    /// itself (read for its manifest); repeatable. The manifest records what it was reduced
    /// against
    #[arg(long, value_name = "RECEIPT|BUNDLE", help_heading = "Inputs")]
    pub exclude_carried: Vec<PathBuf>,
    /// Update-service channel to take releases from (e.g. stable-4.15); repeatable
    #[arg(long, value_name = "NAME", help_heading = "Inputs")]
    pub channel: Vec<String>,
    /// The releases a cluster updates through from FROM (a version, or the release digest it
    /// runs) to TO: the fewest hops over the --channel graphs (several join by version), each
    /// packed; conditional updates only with --accept-risks
    #[arg(long, num_args = 2, value_names = ["FROM", "TO"], help_heading = "Inputs")]
    pub update_path: Option<Vec<String>>,
    /// Take conditional updates with this risk on --update-path (repeatable; * for any)
    #[arg(long, value_name = "NAME", requires = "update_path", help_heading = "Inputs")]
    pub accept_risks: Vec<String>,
    /// Lowest version taken from --channel and channel: names (inclusive; the channels of an
    /// ImageSetConfiguration keep their own)
    #[arg(long, value_name = "VERSION", help_heading = "Inputs")]
    pub min_version: Option<semver::Version>,
    /// Highest version taken from --channel and channel: names (inclusive)
    #[arg(long, value_name = "VERSION", help_heading = "Inputs")]
    pub max_version: Option<semver::Version>,
    /// Update service graph endpoint
    #[arg(long, value_name = "URL", default_value = DEFAULT_GRAPH_URL, help_heading = "Inputs")]
    pub graph_url: String,
    /// Read channel graphs from a saved graph API answer instead (its channel is checked
    /// against its nodes; say its arch with --graph-file-arch); versions resolve from it too
    #[arg(long, value_name = "FILE", conflicts_with = "graph_url", help_heading = "Inputs")]
    pub graph_file: Option<PathBuf>,
    /// The architecture the saved answer was requested for (the arch= of its URL: amd64,
    /// arm64, ppc64le, s390x, multi); must match --arch. Versions then resolve from its nodes
    #[arg(long, value_name = "ARCH", requires = "graph_file", value_parser = parse_arch, help_heading = "Inputs")]
    pub graph_file_arch: Option<Arch>,
    /// Architecture for versions and channels: x86_64, aarch64, ppc64le, s390x, multi
    #[arg(long, default_value = "x86_64", value_parser = parse_arch, help_heading = "Inputs")]
    pub arch: Arch,
    /// Repository bare versions are tags of (<version>-<arch>)
    #[arg(long, value_name = "REPO", default_value = resolve::DEFAULT_RELEASE_REPO, help_heading = "Inputs")]
    pub release_repo: String,
    /// Signature store: a folder in the mirror layout or an http(s) URL; or signatures already
    /// made into ConfigMaps: oc-mirror's signature-configmap.json (or .yaml), one of oc's
    /// signature-sha256-*.json, or a folder of them; repeatable, tried in order [default: Red
    /// Hat's two stores]
    #[arg(long = "store", value_name = "DIR|URL|FILE", help_heading = "Stores")]
    pub stores: Vec<String>,
    /// Collect from every store, not only the first with a valid signature
    #[arg(long, help_heading = "Stores")]
    pub all_stores: bool,
    /// Extra CA certificates (PEM) for https signature stores (--store URLs); registries use
    /// --registry-ca
    #[arg(long, value_name = "FILE", help_heading = "Stores")]
    pub ca_file: Option<PathBuf>,
    /// Registry credentials (auth.json / pull secret) [default: $REGISTRY_AUTH_FILE,
    /// $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json]
    #[arg(long, value_name = "FILE", help_heading = "Registry")]
    pub authfile: Option<PathBuf>,
    /// Extra CA certificates (PEM) for registries (tag and version resolution); https
    /// signature stores use --ca-file
    #[arg(long, value_name = "FILE", help_heading = "Registry")]
    pub registry_ca: Option<PathBuf>,
    /// Reach this registry host[:port] over plain HTTP (test registries); repeatable
    #[arg(long, value_name = "HOST", help_heading = "Registry")]
    pub insecure_registry: Vec<String>,
    /// Release keyring: key files (armored or binary; together one entry, any key enough) or the
    /// cluster's release-verification ConfigMap (each verifier-public-key-* entry required);
    /// replaces the default (Red Hat's keys)
    #[arg(long, value_name = "FILE", help_heading = "Verification")]
    pub keyring: Vec<PathBuf>,
    /// Also refuse what the cluster accepts but sequoia's standard policy does not (MD5, SHA-1,
    /// malformed messages, loose JSON): verdict strict-refused
    #[arg(long, help_heading = "Verification")]
    pub strict: bool,
    /// Pack what has valid signatures and record the rest as missing (else: exit 1, no bundle)
    #[arg(long, help_heading = "Verification")]
    pub allow_missing: bool,
    /// Resolve and fetch, print the plan, write nothing
    #[arg(long, help_heading = "Output")]
    pub dry_run: bool,
    /// Secret packer key to sign the bundle with (passphrase from SIGBUNDLE_KEY_PASSPHRASE)
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub sign_key: Option<PathBuf>,
    /// Write an unsigned bundle (unpack then needs --allow-unsigned)
    #[arg(long, help_heading = "Output")]
    pub no_sign: bool,
    /// Bundle file to write, or - for standard output (checked before anything is fetched;
    /// not needed with --dry-run)
    #[arg(short, long, value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,
    /// Compression of the bundle
    #[arg(long, value_enum, default_value_t = CompressionArg::Zstd, help_heading = "Output")]
    pub compression: CompressionArg,
    /// Replace an existing output file
    #[arg(long, help_heading = "Output")]
    pub force: bool,
    /// Print the summary as JSON on stdout
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    /// Print nothing but errors
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,
    /// Also carry the sigstore `.sig` artifacts of each release image (and of each instance of
    /// a multi-arch release) that 4.21+ nodes require, verified as CRI-O verifies them
    #[arg(long, help_heading = "Sigstore")]
    pub sigstore: bool,
    /// With --sigstore: also those of every component image of the payload (from the release
    /// image's release-manifests/image-references, or --image-references)
    #[arg(long, requires = "sigstore", help_heading = "Sigstore")]
    pub sigstore_components: bool,
    /// With --sigstore-components: read the component list from this file (an image-references
    /// ImageStream) instead of the release image; one release only
    #[arg(
        long,
        value_name = "FILE",
        requires = "sigstore_components",
        help_heading = "Sigstore"
    )]
    pub image_references: Option<PathBuf>,
    /// Fetch the components' `.sig`s from this repository instead of the one image-references
    /// names (a copy of ocp-v4.0-art-dev); their identity is still the named one
    #[arg(
        long,
        value_name = "REPO",
        requires = "sigstore_components",
        help_heading = "Sigstore"
    )]
    pub components_repo: Option<String>,
    /// The repository the cluster pulls releases as (the identity their signatures must match)
    #[arg(
        long,
        value_name = "REPO",
        default_value = "quay.io/openshift-release-dev/ocp-release",
        requires = "sigstore",
        help_heading = "Sigstore"
    )]
    pub release_identity: String,
    /// Sigstore public key (PEM, RSA or ECDSA) nodes trust; repeatable; replaces Red Hat's
    /// release key (the openshift ClusterImagePolicy's)
    #[arg(long, value_name = "PEM", requires = "sigstore", help_heading = "Sigstore")]
    pub sigstore_key: Vec<PathBuf>,
    /// Take the key and scopes from the cluster's ClusterImagePolicy YAML instead (--sigstore-key
    /// still replaces its key)
    #[arg(long, value_name = "FILE", requires = "sigstore", help_heading = "Sigstore")]
    pub cluster_image_policy: Option<PathBuf>,
    /// Releases fetched at once
    #[arg(long, default_value_t = 16, value_name = "N", help_heading = "Fetching")]
    pub concurrency: usize,
    /// Per-request timeout, seconds
    #[arg(long, default_value_t = 30, value_name = "SECS", help_heading = "Fetching")]
    pub timeout: u64,
    /// Retries on timeouts, connection errors and 5xx
    #[arg(long, default_value_t = 3, value_name = "N", help_heading = "Fetching")]
    pub retries: u32,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CompressionArg {
    Zstd,
    Gzip,
    None,
}

pub fn parse_arch(s: &str) -> Result<Arch, String> {
    Arch::parse(s).ok_or_else(|| format!("unknown arch {s:?}: x86_64, aarch64, ppc64le, s390x or multi"))
}
