//! `unpack`'s arguments: `verify`, `inspect`, `emit`, `apply`, `audit`, and the options every
//! command that acts on a bundle shares (`CheckArgs`).

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

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

  # Push the sigstore .sig artifacts 4.21+ nodes require into the mirror registry
  unpack push sigs.tar.zst --packer-key packer.pub.asc --to mirror.internal:5000/ocp/release

  # What crossed, and is the record intact?
  unpack audit
  unpack audit --check
  unpack audit --receipt sigs.tar.zst.receipt.json

  # The release keys signatures are checked against (the cluster's own: --keyring its ConfigMap)
  unpack keys
  unpack keys --keyring release-verification.yaml

Exit codes: 0 ok, 1 verification failed, 2 usage or I/O error.";

#[derive(Parser)]
#[command(
    name = "unpack",
    version,
    about = "Verify a sigbundle and turn it into what the cluster reads",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// Audit log to append to [default: $XDG_STATE_HOME/sigbundle/audit.log]
    #[arg(long, global = true, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Verify a bundle completely and report what it holds
    Verify(VerifyArgs),
    /// Show what a bundle holds (marked "not verified" unless keys are given)
    Inspect(InspectArgs),
    /// Verify a bundle, then write what the cluster needs
    Emit(EmitArgs),
    /// Verify a bundle, then apply its ConfigMaps to the cluster (server-side apply)
    Apply(ApplyArgs),
    /// Verify a bundle, then push its sigstore `.sig` artifacts into the mirror registry
    Push(PushArgs),
    /// What crossed: list the audit log, check its hash chain, match a pack receipt
    Audit(AuditArgs),
    /// Verify a bundle, then say hop by hop whether it carries what the cluster needs to
    /// update from one release to another (the path from saved update graphs)
    CheckPath(CheckPathArgs),
    /// List the release keys signatures are checked against (compiled in, or --keyring)
    Keys(super::KeysArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout
    Completions(super::CompletionsArgs),
    /// Write the manual pages (section 1) of every command into a folder
    Man(super::ManArgs),
}

/// The arguments of `unpack verify`.
#[derive(Args)]
#[command(after_help = "Examples:
  unpack verify sigs.tar.zst --packer-key packer.pub.asc
  unpack verify sigs.tar.zst --packer-key ops.pub.asc --packer-key backup.pub.asc --json
  # Against exactly what the cluster trusts
  unpack verify sigs.tar.zst --packer-key packer.pub.asc --keyring release-verification.yaml")]
pub struct VerifyArgs {
    /// The bundle file
    pub bundle: PathBuf,
    #[command(flatten)]
    pub check: CheckArgs,
    /// Print the report as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `unpack inspect`.
#[derive(Args)]
#[command(after_help = "Examples:
  # What the bundle claims, before trusting anything (marked NOT VERIFIED)
  unpack inspect sigs.tar.zst
  # The same, verified
  unpack inspect sigs.tar.zst --packer-key packer.pub.asc --json")]
pub struct InspectArgs {
    /// The bundle file
    pub bundle: PathBuf,
    /// Trusted packer public key(s): verify the bundle too
    #[arg(long, value_name = "FILE")]
    pub packer_key: Vec<PathBuf>,
    /// Release keyring file(s) to verify against (with --packer-key; default Red Hat's)
    #[arg(long, value_name = "FILE")]
    pub keyring: Vec<PathBuf>,
    /// Sigstore public key(s) (PEM) to verify the `.sig` artifacts against (with --packer-key;
    /// default Red Hat's)
    #[arg(long, value_name = "PEM")]
    pub sigstore_key: Vec<PathBuf>,
    /// Print as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `unpack emit`.
#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["to_dir", "store_dir", "signature", "oci_dir"])))]
#[command(after_help = "Examples:
  # One ConfigMap per release, as `oc adm release mirror` writes them, then apply them
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --to-dir ./configmaps
  oc apply -f ./configmaps
  # Fleets: a kustomization (Argo CD, kubectl apply -k), ACM policies, oc-mirror's ConfigMap
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --to-dir ./sigs --format kustomize
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --to-dir ./acm --format acm-policy \
      --placement-label env=prod --policy-namespace policies
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --to-dir ./cr --format oc-mirror
  # A signature store for a web server (spec.signatureStores), and the patch that points at it
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --store-dir /srv/sigs --store-url https://sigs.internal/
  # One bare signature on stdout
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --signature sha256:<hex> > signature-1
  # The sigstore .sig artifacts as an OCI image layout, for your own copy tools
  unpack emit sigs.tar.zst --packer-key packer.pub.asc --oci-dir ./sigstore-layout")]
pub struct EmitArgs {
    /// The bundle file
    pub bundle: PathBuf,
    #[command(flatten)]
    pub check: CheckArgs,
    /// Write one ConfigMap file per release into this folder (for `oc apply -f`), or what
    /// --format names
    #[arg(long, value_name = "DIR")]
    pub to_dir: Option<PathBuf>,
    /// File format with --to-dir
    #[arg(long, value_enum, default_value_t = FormatArg::OcJson)]
    pub format: FormatArg,
    /// With --format acm-policy: select managed clusters with this label; repeatable (all must
    /// match) [default: vendor=OpenShift]
    #[arg(long, value_name = "KEY=VALUE")]
    pub placement_label: Vec<String>,
    /// With --format acm-policy: the hub namespace of the Policy, Placement and PlacementBinding
    /// (it needs a ManagedClusterSetBinding for the Placement to select any cluster)
    #[arg(long, value_name = "NS", default_value = "policies")]
    pub policy_namespace: String,
    /// Write the signatures in the mirror layout into this folder (a signature store)
    #[arg(long, value_name = "DIR")]
    pub store_dir: Option<PathBuf>,
    /// With --store-dir: the URL the folder will be served at, for the ClusterVersion patch
    #[arg(long, value_name = "URL", requires = "store_dir")]
    pub store_url: Option<String>,
    /// Write the sigstore `.sig` artifacts as an OCI image layout into this folder (tags
    /// sha256-<digest>.sig), for sites that move content with their own tools
    #[arg(long, value_name = "DIR")]
    pub oci_dir: Option<PathBuf>,
    /// Write the bare bytes of one signature to stdout (for piping; refuses a terminal)
    #[arg(long, value_name = "DIGEST")]
    pub signature: Option<String>,
    /// With --signature: which signature of the release, 1-based
    #[arg(long, default_value_t = 1, requires = "signature")]
    pub index: usize,
    /// Replace existing files that differ
    #[arg(long)]
    pub force: bool,
    /// Print what was written as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `unpack apply`.
#[derive(Args)]
#[command(after_help = "Examples:
  # Look first: the server says what it would do, nothing is stored
  unpack apply sigs.tar.zst --packer-key packer.pub.asc --dry-run=server
  # The plan from the bundle alone: no kubeconfig, no network
  unpack apply sigs.tar.zst --packer-key packer.pub.asc --dry-run=client
  unpack apply sigs.tar.zst --packer-key packer.pub.asc --context admin
  # No kubeconfig: the server, its CA and a token on the command line
  unpack apply sigs.tar.zst --packer-key packer.pub.asc --server https://api.ocp.example:6443 \\
      --certificate-authority ca.crt --token \"$(cat token)\"
  # A lab cluster whose certificate cannot be checked (its identity is then not known)
  unpack apply sigs.tar.zst --allow-unsigned --server 10.0.0.5:6443 --token \"$T\" --insecure-skip-tls-verify
  # As another user (impersonation: needs the impersonate permission)
  unpack apply sigs.tar.zst --packer-key packer.pub.asc --as signature-importer --as-group ops
  # Take over keys another field manager holds with other bytes
  unpack apply sigs.tar.zst --packer-key packer.pub.asc --force-conflicts")]
pub struct ApplyArgs {
    /// The bundle file
    pub bundle: PathBuf,
    #[command(flatten)]
    pub check: CheckArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Print the plan and store nothing: `server` (the bare --dry-run, as before) asks the server
    /// to run the apply without storing it; `client` plans from the bundle alone, reading no
    /// kubeconfig and sending nothing (so it cannot know what the cluster holds). Unlike
    /// kubectl, a bare --dry-run means server
    #[arg(
        long,
        value_enum,
        value_name = "WHERE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "server"
    )]
    pub dry_run: Option<DryRunArg>,
    /// Overwrite keys that already hold different bytes
    #[arg(long)]
    pub force_conflicts: bool,
    /// Print the plan/outcome as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// How to reach a cluster, as `kubectl` and `oc` take it (`apply`, `check-path`).
#[derive(Args)]
pub struct ClusterArgs {
    /// kubeconfig file [default: $KUBECONFIG, else ~/.kube/config; none needed with --server]
    #[arg(long, value_name = "FILE", help_heading = "Cluster")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context [default: the current context]
    #[arg(long, value_name = "NAME", help_heading = "Cluster")]
    pub context: Option<String>,
    /// The API server's URL, instead of the context's cluster's (with --token, no kubeconfig is
    /// needed)
    #[arg(long, value_name = "URL", help_heading = "Cluster")]
    pub server: Option<String>,
    /// Bearer token to send instead of the credentials of the context's user
    #[arg(long, value_name = "TOKEN", help_heading = "Cluster")]
    pub token: Option<String>,
    /// PEM file of the certificate authorities to trust for the server, instead of the
    /// context's cluster's
    #[arg(long, value_name = "FILE", help_heading = "Cluster")]
    pub certificate_authority: Option<PathBuf>,
    /// Do not check the server's certificate (its identity is then not known)
    #[arg(long, conflicts_with = "certificate_authority", help_heading = "Cluster")]
    pub insecure_skip_tls_verify: bool,
    /// Act as this user (impersonation; the credentials' user needs the impersonate permission)
    #[arg(long = "as", value_name = "USER", help_heading = "Cluster")]
    pub as_user: Option<String>,
    /// With --as: act as this group too; repeatable
    #[arg(
        long = "as-group",
        value_name = "GROUP",
        requires = "as_user",
        help_heading = "Cluster"
    )]
    pub as_group: Vec<String>,
}

impl ClusterArgs {
    /// The cluster these flags name.
    pub fn target(&self) -> sigbundle::cluster::Target {
        sigbundle::cluster::Target {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            server: self.server.clone(),
            token: self.token.clone(),
            certificate_authority: self.certificate_authority.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            impersonate: self.as_user.clone(),
            impersonate_groups: self.as_group.clone(),
        }
    }

    /// Whether any of them was given (`check-path` then also asks the cluster).
    pub fn given(&self) -> bool {
        self.kubeconfig.is_some() || self.context.is_some() || self.server.is_some()
    }
}

/// The arguments of `unpack push`.
#[derive(Args)]
#[command(group(ArgGroup::new("destination").required(true).args(["to", "idms"])))]
#[command(after_help = "Examples:
  # Look first: what would be created, what is there already, what differs
  unpack push sigs.tar.zst --packer-key packer.pub.asc --to mirror.internal:5000/ocp/release --dry-run
  # Releases' .sig to one repository, components' to another
  unpack push sigs.tar.zst --packer-key packer.pub.asc --to mirror.internal:5000/ocp/release \\
      --components-to mirror.internal:5000/ocp/art-dev
  # Wherever the cluster's ImageDigestMirrorSet mirrors each source repository
  unpack push sigs.tar.zst --packer-key packer.pub.asc --idms idms-oc-mirror.yaml")]
pub struct PushArgs {
    /// The bundle file
    pub bundle: PathBuf,
    #[command(flatten)]
    pub check: CheckArgs,
    /// Mirror repository (registry/repository) for the release images' `.sig` artifacts (and
    /// the components', without --components-to)
    #[arg(long, value_name = "REGISTRY/REPO")]
    pub to: Option<String>,
    /// Mirror repository for the component images' `.sig` artifacts
    #[arg(long, value_name = "REGISTRY/REPO", requires = "to")]
    pub components_to: Option<String>,
    /// The cluster's ImageDigestMirrorSet (as oc-mirror writes it): each artifact goes to every
    /// mirror of its source repository
    #[arg(long, value_name = "FILE")]
    pub idms: Option<PathBuf>,
    /// Print the plan (create / unchanged / conflict); push nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Replace a different `.sig` already under the same tag
    #[arg(long)]
    pub force: bool,
    /// Registry credentials (auth.json / pull secret) [default: $REGISTRY_AUTH_FILE,
    /// $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json]
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// Extra CA certificates (PEM) for the registry
    #[arg(long, value_name = "FILE")]
    pub registry_ca: Option<PathBuf>,
    /// Reach this registry host[:port] over plain HTTP (test registries); repeatable
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Artifacts pushed at once
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Per-request timeout, seconds
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// Retries on timeouts, connection errors and 5xx
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub retries: u32,
    /// Print the plan/outcome as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// `--dry-run=WHERE`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRunArg {
    /// The API server runs the apply and stores nothing
    Server,
    /// The plan from the bundle alone: no kubeconfig, no network
    Client,
}

/// The arguments of `unpack audit`.
#[derive(Args)]
#[command(after_help = "Examples:
  unpack audit                           # per record
  unpack audit --by-release --json       # per release, for scripts
  unpack audit --head                    # write this in an outside logbook after each import
  unpack audit --check --expect-head <hash-from-the-logbook>
  unpack audit --receipt sigs.tar.zst.receipt.json")]
pub struct AuditArgs {
    /// Verify the hash chain and report the first broken link
    #[arg(long, conflicts_with_all = ["head", "receipt"])]
    pub check: bool,
    /// With --check: also require the record with this hash (from an outside logbook, see
    /// --head) to be in the log; a chain alone cannot see records removed from its end
    #[arg(long, value_name = "HASH", requires = "check", value_parser = parse_head)]
    pub expect_head: Option<String>,
    /// Print the newest record's hash (for an outside logbook)
    #[arg(long, conflicts_with = "receipt")]
    pub head: bool,
    /// Match a pack receipt (FILE.receipt.json) against the log
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
    /// List per release instead of per record
    #[arg(long)]
    pub by_release: bool,
    /// Write what this side holds (every release and signature a successful emit or apply put
    /// in place, and the log's head) to -o FILE, for `pack --exclude-carried FILE` on the
    /// connected side
    #[arg(long, requires = "output", conflicts_with_all = ["check", "head", "receipt"])]
    pub inventory: bool,
    /// Where --inventory writes
    #[arg(short, long, value_name = "FILE", requires = "inventory")]
    pub output: Option<PathBuf>,
    /// Sign the inventory with this key (FILE.asc beside it; `gpg --verify FILE.asc FILE`)
    #[arg(long, value_name = "FILE", requires = "inventory")]
    pub sign_key: Option<PathBuf>,
    /// Print as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// The arguments of `unpack check-path`.
#[derive(Args)]
#[command(after_help = "Examples:
  # The graphs saved on the connected side (curl -H 'Accept: application/json' \\
  #   'https://api.openshift.com/api/upgrades_info/v1/graph?channel=stable-4.13&arch=amd64')
  unpack check-path sigs.tar.zst --packer-key packer.pub.asc \\
      --from 4.13.32 --to 4.13.41 --graph-file stable-4.13.json

  # From the release the cluster runs (oc get clusterversion version -o jsonpath='{.status.desired.image}')
  unpack check-path sigs.tar.zst --packer-key packer.pub.asc \\
      --from sha256:<hex> --to 4.14.10 --graph-file stable-4.13.json --graph-file eus-4.14.json

Exit codes: 0 every hop carried, 1 a hop the cluster would refuse (or the bundle does not verify), 2 usage or I/O error.")]
pub struct CheckPathArgs {
    pub bundle: PathBuf,
    /// The release the cluster runs: a version, or its release digest (sha256:…)
    #[arg(long, value_name = "VERSION|DIGEST")]
    pub from: String,
    /// The release it must reach
    #[arg(long, value_name = "VERSION")]
    pub to: semver::Version,
    /// A saved update graph answer (one channel each; several join by version); repeatable
    #[arg(long, value_name = "FILE", required = true)]
    pub graph_file: Vec<PathBuf>,
    /// Take conditional updates with this risk (repeatable; * for any)
    #[arg(long, value_name = "NAME")]
    pub accept_risks: Vec<String>,
    #[command(flatten)]
    pub check: CheckArgs,
    /// With --kubeconfig, --context or --server: a hop is also carried when the cluster's own
    /// signature ConfigMaps hold a valid signature of it
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The hops as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Trusted packer public key(s); repeatable
    #[arg(long, value_name = "FILE")]
    pub packer_key: Vec<PathBuf>,
    /// Release keyring: key files (armored or binary; together one entry, any key enough) or the
    /// cluster's release-verification ConfigMap (each verifier-public-key-* entry required);
    /// replaces the default (Red Hat's keys)
    #[arg(long, value_name = "FILE")]
    pub keyring: Vec<PathBuf>,
    /// Accept a bundle without a packer signature (or without keys to check it)
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Sigstore public key (PEM, RSA or ECDSA) the bundle's `.sig` artifacts are verified
    /// against again, as nodes verify them; repeatable; replaces Red Hat's release key
    #[arg(long, value_name = "PEM")]
    pub sigstore_key: Vec<PathBuf>,
    /// Also refuse what the cluster accepts but sequoia's standard policy does not (MD5, SHA-1,
    /// malformed messages, loose JSON): verdict strict-refused
    #[arg(long)]
    pub strict: bool,
    /// Two-person control: at least N distinct trusted packer keys (--packer-key) must have
    /// signed the manifest (`pack cosign` adds a signature)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub require_signers: u8,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Compact JSON, byte-for-byte as `oc adm release mirror --release-image-signature-to-dir`
    OcJson,
    /// The same objects as YAML
    Yaml,
    /// The oc-json files and a kustomization.yaml listing them (`kubectl apply -k DIR`)
    Kustomize,
    /// ACM Policies enforcing each ConfigMap on the clusters a Placement selects, with a
    /// PlacementBinding (`oc apply -f DIR` on the hub)
    AcmPolicy,
    /// One ConfigMap `mirrored-release-signatures` as oc-mirror v2 writes it
    /// (signature-configmap.json and .yaml; numbered parts past 1 MiB)
    OcMirror,
}

/// A record hash: 64 hexadecimal digits.
fn parse_head(s: &str) -> Result<String, String> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err("a record hash is 64 hexadecimal digits (as `unpack audit --head` prints it)".into())
    }
}
