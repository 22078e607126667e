//! `pack`: turn what the user asked for into digests, fetch every signature from the stores,
//! verify each against the release keyring, and write one signed, reproducible bundle.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::audit::Receipt;
use crate::bundle::{write_bundle, Compression};
use crate::digest::Digest;
use crate::fsutil::{write_atomic, Overwrite, WriteError};
use crate::manifest::{signature_path, Manifest, Member, Missing, Release, SignatureEntry, FORMAT_V1, UNSIGNED};
use crate::packer_key::{PackerError, PackerSigner};
use crate::registry::Registry;
use crate::resolve::{resolve_all, Request, ResolveOptions, Spec};
use crate::store::{Fetcher, Store, StoreError};
use crate::verify::trust::ReleaseTrust;
use crate::verify::{rfc3339, verify_release_signature, SignatureReport};

/// Why a pack run failed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("nothing to pack: name at least one release (digest, pullspec, version), --channel or --from-file")]
    NothingRequested,
    /// One line however many are missing: one is named with its reason, more are counted
    /// (each was said as it completed; [`PackError::missing`] lists them).
    #[error("{}; nothing written (pass --allow-missing to pack the rest)", summarize_missing(.missing, *.releases))]
    NoValidSignature {
        missing: Vec<MissingRelease>,
        /// How many releases were asked for in all.
        releases: usize,
    },
    #[error("cannot fetch signatures of {digest} from {store}: {source}")]
    Fetch {
        digest: Digest,
        store: String,
        source: StoreError,
    },
    #[error(
        "the bundle would be refused by unpack, so nothing was written: {reason} (pack fewer releases per bundle)"
    )]
    TooLarge { reason: String },
    #[error("SOURCE_DATE_EPOCH={value:?} is not a number of seconds")]
    BadSourceDateEpoch { value: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Resolve(#[from] crate::resolve::ResolveError),
    #[error(transparent)]
    Packer(#[from] PackerError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot write the bundle to standard output: {0}")]
    Stdout(std::io::Error),
    #[error("no output was given for the bundle (-o FILE, or - for standard output)")]
    NoOutput,
}

impl PackError {
    /// The releases without a valid signature, for a refusal for that reason.
    pub fn missing(&self) -> &[MissingRelease] {
        match self {
            PackError::NoValidSignature { missing, .. } => missing,
            _ => &[],
        }
    }

    /// Releases without a valid signature are a verification failure; the rest usage or I/O.
    pub fn exit_class(&self) -> crate::exit::ExitClass {
        match self {
            PackError::NoValidSignature { .. } => crate::exit::ExitClass::Verification,
            _ => crate::exit::ExitClass::UsageOrIo,
        }
    }
}

fn summarize_missing(m: &[MissingRelease], releases: usize) -> String {
    match m {
        [one] if one.refused_signatures > 0 => format!(
            "no valid signature for {}: {} signature(s) refused",
            one.digest, one.refused_signatures
        ),
        [one] => format!("no valid signature for {} ({})", one.digest, one.reason),
        _ => format!("{} of {releases} release(s) have no valid signature", m.len()),
    }
}

/// A release that ended without a valid signature, and why.
#[derive(Debug, Clone, Serialize)]
pub struct MissingRelease {
    pub digest: Digest,
    pub requested: Vec<String>,
    pub reason: String,
    /// How many of its signatures were fetched and refused (each said as it was judged).
    pub refused_signatures: usize,
}

/// Where the bundle goes.
#[derive(Debug, Clone)]
pub enum Output {
    File { path: PathBuf, overwrite: Overwrite },
    Stdout,
}

/// A callback told about each release as it completes.
pub type Progress = Arc<dyn Fn(ProgressEvent<'_>) + Send + Sync>;

/// What a pack run tells its [`Progress`] callback, in order.
#[derive(Debug, Clone, Copy)]
pub enum ProgressEvent<'a> {
    /// Names are being resolved to digests (tags, versions, channels): the total is not known.
    Resolving,
    /// Signatures of this many distinct releases are being fetched and verified.
    Fetching { releases: usize },
    /// One release is done.
    Done(&'a ReleaseOutcome),
}

/// Everything a pack run needs.
pub struct PackOptions {
    pub stores: Vec<Store>,
    /// The release trust configuration (every entry must be satisfied).
    pub release_keys: ReleaseTrust,
    /// Refuse, beyond the cluster's rules, what `--strict` refuses.
    pub strict: bool,
    /// `None`: an explicitly unsigned bundle.
    pub signer: Option<PackerSigner>,
    pub compression: Compression,
    /// Where the bundle goes; checked before anything is resolved or fetched. A dry run may
    /// have none.
    pub output: Option<Output>,
    /// The bundle's creation time (seconds); see [`source_date_epoch`].
    pub created: u64,
    pub concurrency: usize,
    pub allow_missing: bool,
    pub all_stores: bool,
    pub fetcher: Fetcher,
    /// Resolve and fetch, but write nothing.
    pub dry_run: bool,
    /// Called with a line of progress for each release done (for the binary to show).
    pub progress: Option<Progress>,
    /// What earlier bundles carried (`--exclude-carried`): left out of this one.
    pub carried: crate::carried::Carried,
}

/// `SOURCE_DATE_EPOCH` when set, else now.
pub fn source_date_epoch() -> Result<u64, PackError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v.trim().parse().map_err(|_| PackError::BadSourceDateEpoch { value: v }),
        Err(_) => Ok(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())),
    }
}

/// A signature that was fetched and judged.
#[derive(Debug, Clone, Serialize)]
pub struct FetchedSignature {
    pub store: String,
    pub index: usize,
    pub size: u64,
    /// sha256 of the bytes as fetched.
    pub sha256: String,
    #[serde(flatten)]
    pub report: SignatureReport,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// What happened to one release.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseOutcome {
    pub digest: Digest,
    pub requested: Vec<String>,
    /// The store the packed signatures came from (the first that had a valid one).
    pub store: Option<String>,
    /// Every signature seen, valid or not.
    pub signatures: Vec<FetchedSignature>,
    /// Store errors met on the way (a later store may still have answered).
    pub errors: Vec<String>,
    /// Requests that failed at a store whose other signatures made the release complete.
    pub incomplete: Vec<String>,
    /// Trust entries no valid signature satisfies (the release is missing unless this is empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsatisfied: Vec<String>,
}

impl ReleaseOutcome {
    fn valid(&self) -> impl Iterator<Item = &FetchedSignature> {
        self.signatures.iter().filter(|j| j.report.verdict.is_valid())
    }

    /// The trust entries no valid signature satisfies yet (empty: the cluster accepts it).
    fn unsatisfied_entries(&self, trust: &ReleaseTrust) -> Vec<String> {
        trust.unsatisfied_by(self.valid().map(|j| &j.report))
    }
}

/// The result of a pack run.
#[derive(Debug, Clone, Serialize)]
pub struct PackSummary {
    pub releases: usize,
    pub signatures: usize,
    pub missing: Vec<MissingRelease>,
    pub rejected_signatures: usize,
    /// What was written (`None` for a dry run).
    pub bundle: Option<Written>,
    pub packer: String,
    pub created: String,
    pub elapsed_seconds: f64,
    #[serde(skip)]
    pub outcomes: Vec<ReleaseOutcome>,
    /// Releases left out as already carried (`--exclude-carried`).
    pub carried: usize,
    /// A real run would have failed for missing releases (set by dry runs, which go on).
    #[serde(skip)]
    pub would_fail: bool,
}

impl PackSummary {
    /// The error a real run would have ended with, for a dry run that would fail.
    pub fn dry_run_failure(&self) -> Option<PackError> {
        self.would_fail.then(|| PackError::NoValidSignature {
            missing: self.missing.clone(),
            releases: self.releases + self.missing.len(),
        })
    }
}

/// Whether missing releases fail a run: any of them without `--allow-missing`, and all of them
/// always (a bundle of nothing is no bundle).
fn missing_fails(missing: usize, releases: usize, allow_missing: bool) -> bool {
    missing > 0 && (!allow_missing || missing == releases)
}

/// Group requests by digest: each digest once, with every name it was asked for.
pub fn collapse(requests: &[Request]) -> BTreeMap<Digest, BTreeSet<String>> {
    let mut m: BTreeMap<Digest, BTreeSet<String>> = BTreeMap::new();
    for r in requests {
        m.entry(r.digest).or_default().insert(r.name.clone());
    }
    m
}

/// Leave out what earlier bundles carried: a release whose valid signatures were all carried is
/// dropped (counted); of one with a new signature, the carried signatures are dropped when the
/// new ones alone satisfy every trust entry (so the bundle still verifies on its own), else it
/// is carried again whole.
fn leave_out_carried(outcomes: &mut Vec<ReleaseOutcome>, opts: &PackOptions) -> usize {
    if opts.carried.is_empty() {
        return 0;
    }
    let before = outcomes.len();
    outcomes.retain_mut(|o| {
        let Some(old) = opts.carried.signatures(&o.digest) else {
            return true;
        };
        let is_old = |j: &FetchedSignature| j.report.verdict.is_valid() && old.contains(&j.sha256);
        let (valid, new) = (
            o.valid().count(),
            o.valid().filter(|j| !old.contains(&j.sha256)).count(),
        );
        if valid > 0 && new == 0 {
            return false;
        }
        let new_alone = opts
            .release_keys
            .unsatisfied_by(o.valid().filter(|j| !old.contains(&j.sha256)).map(|j| &j.report));
        if new > 0 && new_alone.is_empty() {
            o.signatures.retain(|j| !is_old(j));
        }
        true
    });
    before - outcomes.len()
}

/// Fetch and judge the signatures of every digest, concurrently.
pub async fn collect(
    wanted: &BTreeMap<Digest, BTreeSet<String>>,
    opts: &PackOptions,
) -> Result<Vec<ReleaseOutcome>, PackError> {
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let keys = Arc::new(opts.release_keys.clone());
    let stores = Arc::new(opts.stores.clone());
    if let Some(p) = &opts.progress {
        p(ProgressEvent::Fetching { releases: wanted.len() });
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (digest, names) in wanted {
        let (digest, names) = (*digest, names.iter().cloned().collect::<Vec<_>>());
        let (sem, keys, stores, fetcher) = (sem.clone(), keys.clone(), stores.clone(), opts.fetcher.clone());
        let all_stores = opts.all_stores;
        let strict = opts.strict;
        let progress = opts.progress.clone();
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await.expect("semaphore never closes");
            let out = collect_one(digest, names, &stores, &fetcher, keys, all_stores, strict).await;
            if let (Ok(o), Some(p)) = (&out, &progress) {
                p(ProgressEvent::Done(o));
            }
            out
        });
    }
    let mut outcomes = Vec::with_capacity(wanted.len());
    while let Some(res) = tasks.join_next().await {
        outcomes.push(res.expect("a fetch task panicked")?);
    }
    outcomes.sort_by_key(|o| o.digest);
    Ok(outcomes)
}

async fn collect_one(
    digest: Digest,
    requested: Vec<String>,
    stores: &[Store],
    fetcher: &Fetcher,
    keys: Arc<ReleaseTrust>,
    all_stores: bool,
    strict: bool,
) -> Result<ReleaseOutcome, PackError> {
    let mut out = ReleaseOutcome {
        digest,
        requested,
        store: None,
        signatures: Vec::new(),
        errors: Vec::new(),
        incomplete: Vec::new(),
        unsatisfied: Vec::new(),
    };
    let mut first_err = None;
    for store in stores {
        let fetched = match fetcher.fetch(store, &digest).await {
            Ok(f) => f,
            Err(e) => {
                out.errors.push(e.to_string());
                first_err.get_or_insert((store.to_string(), e));
                continue;
            }
        };
        let failed: Vec<String> = fetched.failed.iter().map(|(_, e)| e.to_string()).collect();
        let ring = keys.clone();
        let judged = tokio::task::spawn_blocking(move || {
            let now = SystemTime::now();
            fetched
                .bodies
                .into_iter()
                .map(|(n, b)| (n, verify_release_signature(&ring, &digest, &b, now, strict), b))
                .collect::<Vec<_>>()
        })
        .await
        .expect("a verification task panicked");
        for (n, report, bytes) in judged {
            // With --all-stores, the same signature from two stores is kept once.
            if out.signatures.iter().any(|j| j.bytes == bytes) {
                continue;
            }
            out.signatures.push(FetchedSignature {
                store: store.to_string(),
                index: n,
                size: bytes.len() as u64,
                sha256: crate::digest::sha256_hex(&bytes),
                report,
                bytes,
            });
        }
        out.unsatisfied = out.unsatisfied_entries(&keys);
        let complete = out.valid().next().is_some() && out.unsatisfied.is_empty();
        if complete {
            // The cluster stops at the first valid signature; what a store could not give after
            // that is worth a warning, not a failure.
            out.incomplete.extend(failed);
        } else {
            out.errors.extend(failed);
        }
        if complete {
            out.store.get_or_insert_with(|| store.to_string());
            if !all_stores {
                break;
            }
        }
    }
    if out.store.is_none() && out.signatures.is_empty() {
        if let Some((store, source)) = first_err {
            if out.errors.len() == stores.len() {
                // Every store failed: that is an I/O failure, not a missing signature.
                return Err(PackError::Fetch { digest, store, source });
            }
        }
    }
    Ok(out)
}

/// Why a release has no valid signature, in a few words.
pub fn missing_reason(o: &ReleaseOutcome) -> String {
    if o.signatures.is_empty() {
        if o.errors.is_empty() {
            "no signature in any store".into()
        } else {
            format!("no signature; {}", o.errors.join("; "))
        }
    } else if o.valid().next().is_some() {
        format!(
            "no valid signature for {} (the cluster requires one for every verifier-public-key-* entry)",
            o.unsatisfied.join(", ")
        )
    } else {
        let verdicts: Vec<String> = o
            .signatures
            .iter()
            .map(|j| format!("{} signature-{}: {}", j.store, j.index, j.report.verdict))
            .collect();
        format!("no valid signature: {}", verdicts.join("; "))
    }
}

/// Run a whole pack: collect, verify, write. Nothing is written unless everything succeeded.
pub async fn pack(requests: &[Request], opts: &PackOptions) -> Result<PackSummary, PackError> {
    let started = Instant::now();
    if requests.is_empty() {
        return Err(PackError::NothingRequested);
    }
    check_output(opts)?;
    let mut wanted = collapse(requests);
    // Releases a receipt says were carried whole are not even fetched.
    let before = wanted.len();
    wanted.retain(|d, _| !opts.carried.whole(d));
    let mut carried = before - wanted.len();
    let mut outcomes = collect(&wanted, opts).await?;
    carried += leave_out_carried(&mut outcomes, opts);
    let missing = missing_releases(&outcomes);
    let would_fail = missing_fails(missing.len(), outcomes.len(), opts.allow_missing);
    if !opts.dry_run && would_fail {
        return Err(PackError::NoValidSignature {
            missing,
            releases: outcomes.len(),
        });
    }
    let (manifest, members) = build_manifest(&mut outcomes, &missing, opts);
    let mut summary = PackSummary {
        releases: manifest.releases.len(),
        signatures: manifest.releases.iter().map(|r| r.signatures.len()).sum(),
        rejected_signatures: outcomes
            .iter()
            .flat_map(|o| &o.signatures)
            .filter(|j| !j.report.verdict.is_valid())
            .count(),
        missing,
        bundle: None,
        packer: manifest.packer.clone(),
        created: manifest.created.clone(),
        elapsed_seconds: 0.0,
        outcomes: Vec::new(),
        would_fail,
        carried,
    };
    // Everything was carried before: nothing new, no bundle (said by the caller).
    let nothing_new = outcomes.is_empty() && carried > 0;
    if !opts.dry_run && !nothing_new {
        summary.bundle = Some(write_output(opts, &manifest, &members)?);
    }
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    summary.outcomes = outcomes;
    Ok(summary)
}

/// The releases that ended without a complete set of valid signatures, and why.
fn missing_releases(outcomes: &[ReleaseOutcome]) -> Vec<MissingRelease> {
    outcomes
        .iter()
        .filter(|o| o.store.is_none())
        .map(|o| MissingRelease {
            digest: o.digest,
            requested: o.requested.clone(),
            reason: missing_reason(o),
            refused_signatures: o.signatures.iter().filter(|j| !j.report.verdict.is_valid()).count(),
        })
        .collect()
}

/// What was written, and where.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    /// The bundle's path (`-` for standard output).
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    /// The receipt written beside the bundle (`FILE.receipt.json`), for `unpack audit
    /// --receipt`; none for standard output.
    pub receipt: Option<String>,
}

/// Check, before any work, that the bundle can be written where it goes.
fn check_output(opts: &PackOptions) -> Result<(), PackError> {
    match &opts.output {
        // A dry run writes nothing, wherever -o points (`-o /dev/null` is fine).
        _ if opts.dry_run => Ok(()),
        Some(Output::File { path, overwrite }) => Ok(crate::fsutil::check_writable(path, *overwrite)?),
        Some(Output::Stdout) => Ok(()),
        None => Err(PackError::NoOutput),
    }
}

/// Sign the manifest and write the bundle to its destination (with a receipt beside a file);
/// a bundle that unpack would refuse for its size is not written.
fn write_output(opts: &PackOptions, manifest: &Manifest, members: &[(String, Vec<u8>)]) -> Result<Written, PackError> {
    let manifest_bytes = manifest.to_bytes();
    // A bundle unpack would refuse for its size is not written (the manifest's bounds are
    // measured on its bytes, as unpack measures them).
    if manifest_bytes.len() as u64 > crate::bundle::Limits::default().max_manifest {
        return Err(PackError::TooLarge {
            reason: format!("its manifest would take {} bytes", manifest_bytes.len()),
        });
    }
    if let Err(e) = Manifest::parse(&manifest_bytes) {
        return Err(PackError::TooLarge { reason: e.to_string() });
    }
    // The packer signature is dated now, not SOURCE_DATE_EPOCH: a key cannot sign before it
    // existed, and the format lets the signature alone differ between reproduced bundles.
    let sig = match &opts.signer {
        Some(s) => Some(s.sign_detached(&manifest_bytes, SystemTime::now())?),
        None => None,
    };
    // Stream the bundle into its destination, hashing as it goes.
    let write = |w: &mut dyn Write| -> std::io::Result<(u64, String)> {
        let hw = HashingWriter {
            inner: w,
            hasher: Sha256::new(),
            count: 0,
        };
        let hw = write_bundle(
            hw,
            opts.compression,
            opts.created,
            &manifest_bytes,
            sig.as_deref(),
            members,
        )?;
        Ok((hw.count, hex::encode(hw.hasher.finalize())))
    };
    match opts.output.as_ref().ok_or(PackError::NoOutput)? {
        Output::File { path, overwrite } => {
            let mut result = None;
            write_atomic(path, 0o644, *overwrite, |w| {
                result = Some(write(w)?);
                Ok(())
            })?;
            let (bytes, sha256) = result.expect("written");
            let receipt = write_receipt(path, &sha256, manifest, &manifest_bytes)?;
            Ok(Written {
                path: path.display().to_string(),
                bytes,
                sha256,
                receipt: Some(receipt),
            })
        }
        Output::Stdout => {
            let mut so = std::io::stdout().lock();
            let (bytes, sha256) = write(&mut so)
                .and_then(|r| so.flush().map(|_| r))
                .map_err(PackError::Stdout)?;
            Ok(Written {
                path: "-".to_string(),
                bytes,
                sha256,
                receipt: None,
            })
        }
    }
}

/// Write the receipt of the bundle at `path` (with sha256 `sha256`) beside it; its path.
pub(crate) fn write_receipt(
    path: &Path,
    sha256: &str,
    manifest: &Manifest,
    manifest_bytes: &[u8],
) -> Result<String, PackError> {
    let r = Receipt {
        bundle: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        bundle_sha256: sha256.to_string(),
        manifest_sha256: crate::digest::sha256_hex(manifest_bytes),
        created: manifest.created.clone(),
        packer: manifest.packer.clone(),
        releases: manifest.releases.iter().map(|r| r.digest.to_string()).collect(),
        signatures: manifest
            .releases
            .iter()
            .map(|r| {
                (
                    r.digest.to_string(),
                    r.signatures.iter().map(|s| s.sha256.clone()).collect(),
                )
            })
            .collect(),
    };
    let rpath = Receipt::path_for(path);
    write_atomic(&rpath, 0o644, Overwrite::Always, |w| w.write_all(&r.to_line()))?;
    Ok(rpath.display().to_string())
}

/// Resolve what the user named to digests, then [`pack`], on one async runtime.
pub fn resolve_and_pack(
    specs: &[(String, Spec)],
    registry: &Registry,
    resolve: &ResolveOptions,
    opts: &PackOptions,
) -> Result<PackSummary, PackError> {
    // Verification is the only blocking work: one thread per core is all it can use, and
    // tokio's default of up to 512 blocking threads costs memory (a malloc arena each).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(cores)
        .build()
        .map_err(PackError::Runtime)?;
    check_output(opts)?;
    runtime.block_on(async {
        if specs.is_empty() {
            return Err(PackError::NothingRequested);
        }
        if let Some(p) = &opts.progress {
            p(ProgressEvent::Resolving);
        }
        let requests = resolve_all(specs, registry, opts.fetcher.client(), resolve).await?;
        pack(&requests, opts).await
    })
}

/// Counts and hashes what passes through to `inner`.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn build_manifest(
    outcomes: &mut [ReleaseOutcome],
    missing: &[MissingRelease],
    opts: &PackOptions,
) -> (Manifest, Vec<(String, Vec<u8>)>) {
    let mut releases = Vec::new();
    let mut members = Vec::new();
    for o in outcomes.iter_mut().filter(|o| o.store.is_some()) {
        let mut sigs = Vec::new();
        let valid = o.signatures.iter_mut().filter(|j| j.report.verdict.is_valid());
        for (i, j) in valid.enumerate() {
            let path = signature_path(&o.digest, i + 1);
            let sha256 = j.sha256.clone();
            sigs.push(SignatureEntry {
                path: path.clone(),
                size: j.size,
                sha256,
                verdict: j.report.verdict.name().to_string(),
                signer: j.report.signer.clone(),
                signer_cert: j.report.signer_cert.clone(),
                created: j.report.created,
                identity: j.report.identity.clone(),
                creator: j.report.creator.clone(),
                satisfies: j.report.satisfies.clone(),
            });
            // The bytes move into the bundle; the outcome keeps the facts.
            members.push((path, std::mem::take(&mut j.bytes)));
        }
        releases.push(Release {
            digest: o.digest,
            requested: o.requested.clone(),
            store: o.store.clone().unwrap_or_default(),
            signatures: sigs,
            incomplete: o.incomplete.clone(),
        });
    }
    // Sort by path as the format requires: signature-10 would sort before signature-2 as a
    // string, but a release has at most 9.
    members.sort_by(|a, b| a.0.cmp(&b.0));
    let manifest = Manifest {
        format: FORMAT_V1.to_string(),
        tool: crate::manifest::TOOL_VERSION.to_string(),
        created: rfc3339(opts.created),
        packer: opts
            .signer
            .as_ref()
            .map_or_else(|| UNSIGNED.to_string(), |s| s.fingerprint().to_string()),
        releases,
        missing: missing
            .iter()
            .map(|m| Missing {
                digest: m.digest,
                requested: m.requested.clone(),
                reason: m.reason.clone(),
            })
            .collect(),
        reduced_against: opts.carried.bundles.clone(),
        members: members
            .iter()
            .map(|(p, b)| Member {
                path: p.clone(),
                size: b.len() as u64,
                sha256: crate::digest::sha256_hex(b),
            })
            .collect(),
    };
    (manifest, members)
}
