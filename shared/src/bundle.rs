//! The bundle archive (format v1, `docs/bundle-format.md`): a deterministic writer, and a
//! streaming reader that checks everything as it reads and reports every problem it finds.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{self, Cursor, Read, Write};
use std::rc::Rc;
use std::sync::{mpsc, Mutex};
use std::time::SystemTime;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::keyring::Keyring;
use crate::manifest::{Manifest, ManifestError};
use crate::verify::{self, SignatureReport, Verdict, MAX_SIGNATURE_BYTES};

/// The manifest's member name.
pub const MANIFEST: &str = "manifest.json";
/// The packer signature's member name.
pub const MANIFEST_SIG: &str = "manifest.json.asc";

/// Bundle compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    Zstd,
    Gzip,
    None,
}

impl Compression {
    /// Detect from the first bytes of a file.
    pub fn detect(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.len() >= 262 && &head[257..262] == b"ustar" {
            Some(Compression::None)
        } else {
            None
        }
    }
}

/// The zstd level bundles are written with.
const ZSTD_LEVEL: i32 = 3;

/// Write a bundle: `manifest.json`, then `manifest.json.asc` when signed, then `members`
/// (which must be sorted by path), each with fixed metadata and mtime `mtime`.
pub fn write_bundle<W: Write>(
    out: W,
    compression: Compression,
    mtime: u64,
    manifest: &[u8],
    manifest_sig: Option<&[u8]>,
    members: &[(String, Vec<u8>)],
) -> io::Result<W> {
    fn tar_all<T: Write>(
        w: T,
        mtime: u64,
        manifest: &[u8],
        sig: Option<&[u8]>,
        members: &[(String, Vec<u8>)],
    ) -> io::Result<T> {
        let mut b = tar::Builder::new(w);
        let mut add = |path: &str, data: &[u8]| -> io::Result<()> {
            let mut h = tar::Header::new_ustar();
            h.set_path(path)?;
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(mtime);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_username("")?;
            h.set_groupname("")?;
            h.set_cksum();
            b.append(&h, data)
        };
        add(MANIFEST, manifest)?;
        if let Some(s) = sig {
            add(MANIFEST_SIG, s)?;
        }
        for (p, d) in members {
            add(p, d)?;
        }
        b.into_inner()
    }
    match compression {
        Compression::None => tar_all(out, mtime, manifest, manifest_sig, members),
        Compression::Gzip => {
            let gz = flate2::GzBuilder::new()
                .mtime(0)
                .write(out, flate2::Compression::best());
            tar_all(gz, mtime, manifest, manifest_sig, members)?.finish()
        }
        Compression::Zstd => {
            let mut z = zstd::Encoder::new(out, ZSTD_LEVEL)?;
            z.include_checksum(true)?;
            tar_all(z, mtime, manifest, manifest_sig, members)?.finish()
        }
    }
}

/// Limits that bound what a hostile bundle can make the reader do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Decompressed bytes in all.
    pub max_total: u64,
    /// Size of `manifest.json`.
    pub max_manifest: u64,
    /// Size of `manifest.json.asc`.
    pub max_manifest_sig: u64,
    /// Size of one signature member.
    pub max_member: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total: 1 << 30,
            max_manifest: 64 << 20,
            max_manifest_sig: 64 << 10,
            max_member: MAX_SIGNATURE_BYTES,
        }
    }
}

/// How to check a bundle.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Trusted packer certificates; `None` means none were given.
    pub packer_keys: Option<Keyring>,
    /// Accept a bundle without a packer signature (or whose signature cannot be checked for
    /// want of packer keys).
    pub allow_unsigned: bool,
    /// The release trust configuration every signature is verified against again.
    pub release_keys: crate::verify::trust::ReleaseTrust,
    /// Refuse, beyond the cluster's rules, what `--strict` refuses.
    pub strict: bool,
    /// The clock for signature expiry.
    pub now: SystemTime,
    pub limits: Limits,
    /// Keep each signature's bytes in the result (to emit or apply them); `false` frees them as
    /// soon as they are verified.
    pub keep_bodies: bool,
}

/// One thing wrong with a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "kebab-case")]
pub enum Problem {
    UnknownCompression {
        magic: String,
    },
    Corrupt {
        reason: String,
    },
    TrailingData,
    TooLarge {
        member: String,
        limit: u64,
    },
    NotRegularFile {
        member: String,
        kind: String,
    },
    UnsafePath {
        member: String,
        reason: String,
    },
    Duplicate {
        member: String,
    },
    ManifestNotFirst {
        member: String,
    },
    NoManifest,
    Manifest {
        reason: String,
    },
    PackerSignatureMissing,
    PackerSignature {
        reason: String,
    },
    PackerMismatch {
        manifest: String,
        signer: String,
    },
    Unlisted {
        member: String,
    },
    MissingMember {
        member: String,
    },
    SizeMismatch {
        member: String,
        expected: u64,
        got: u64,
    },
    HashMismatch {
        member: String,
        expected: String,
        got: String,
    },
    ReleaseSignature {
        member: String,
        digest: String,
        verdict: String,
    },
    /// The release's valid signatures do not satisfy every entry of the trust configuration.
    UnsatisfiedTrust {
        digest: String,
        entries: Vec<String>,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Problem::*;
        match self {
            UnknownCompression { magic } => write!(
                f,
                "not a bundle: unknown compression (first bytes {magic}); expected zstd, gzip or tar"
            ),
            Corrupt { reason } => write!(f, "corrupt or truncated archive: {reason}"),
            TrailingData => write!(f, "non-zero data after the end of the archive"),
            TooLarge { member, limit } => write!(f, "{member}: larger than the {limit}-byte limit"),
            NotRegularFile { member, kind } => write!(f, "{member}: is a {kind}, only regular files are allowed"),
            UnsafePath { member, reason } => write!(f, "{member}: unsafe member name ({reason})"),
            Duplicate { member } => write!(f, "{member}: duplicate member"),
            ManifestNotFirst { member } => write!(f, "{member}: the first member must be {MANIFEST}"),
            NoManifest => write!(f, "{MANIFEST}: missing"),
            Manifest { reason } => write!(f, "{MANIFEST}: {reason}"),
            PackerSignatureMissing => write!(
                f,
                "{MANIFEST_SIG}: missing: the bundle is not signed by a packer (pass --allow-unsigned to accept it)"
            ),
            PackerSignature { reason } => write!(f, "{MANIFEST_SIG}: {reason}"),
            PackerMismatch { manifest, signer } => {
                write!(f, "{MANIFEST}: names packer {manifest}, but {signer} signed it")
            }
            Unlisted { member } => write!(f, "{member}: not listed in the manifest"),
            MissingMember { member } => write!(f, "{member}: listed in the manifest but missing"),
            SizeMismatch { member, expected, got } => write!(f, "{member}: size {got}, manifest says {expected}"),
            HashMismatch { member, expected, got } => write!(f, "{member}: sha256 {got}, manifest says {expected}"),
            ReleaseSignature {
                member,
                digest,
                verdict,
            } => write!(f, "{member}: release signature for {digest} does not verify: {verdict}"),
            UnsatisfiedTrust { digest, entries } => write!(
                f,
                "release {digest}: no valid signature for {} (the cluster requires one for every verifier-public-key-* entry)",
                entries.join(", ")
            ),
        }
    }
}

/// How the packer's signature was judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum PackerStatus {
    /// Signed by a trusted packer key.
    Verified {
        fingerprint: String,
        signed_at: Option<u64>,
    },
    /// Signed, but no packer keys were given to check it (`--allow-unsigned`).
    NotChecked { claimed: String },
    /// Not signed (`--allow-unsigned`).
    Unsigned,
}

/// A signature that was checked again at unpack time.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedSignature {
    pub path: String,
    pub sha256: String,
    pub report: SignatureReport,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// A release as found in a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedRelease {
    pub digest: Digest,
    pub requested: Vec<String>,
    pub signatures: Vec<CheckedSignature>,
}

/// A bundle that passed every check.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedBundle {
    /// sha256 of the bundle file as read.
    pub sha256: String,
    pub size: u64,
    pub compression: Compression,
    pub packer: PackerStatus,
    #[serde(skip)]
    pub manifest: Manifest,
    pub releases: Vec<CheckedRelease>,
}

/// Why a bundle was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read bundle: {0}")]
    Io(#[from] io::Error),
    #[error("bundle rejected: {}", summarize(.problems))]
    Rejected {
        /// sha256 of the bytes read, when the whole file was read.
        sha256: Option<String>,
        /// The manifest, when it could be read, for the audit record.
        manifest: Option<Box<Manifest>>,
        problems: Vec<Problem>,
    },
}

fn summarize(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        _ => format!("{} problems (first: {})", problems.len(), problems[0]),
    }
}

/// A reader that hashes and counts what passes through it, readable after the stack of
/// decoders on top of it is gone.
struct Tap<R> {
    inner: R,
    state: Rc<RefCell<(Sha256, u64)>>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut s = self.state.borrow_mut();
        s.0.update(&buf[..n]);
        s.1 += n as u64;
        Ok(n)
    }
}

/// A reader that fails once more than `left` bytes pass (decompression bombs).
struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(io::Error::other(CapExceeded(self.limit)));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[derive(Debug)]
struct CapExceeded(u64);
impl std::fmt::Display for CapExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} decompressed bytes", self.0)
    }
}
impl std::error::Error for CapExceeded {}

fn stream_problem(e: &io::Error, limits: &Limits) -> Problem {
    if e.get_ref().is_some_and(|i| i.is::<CapExceeded>()) {
        Problem::TooLarge {
            member: "(decompressed archive)".into(),
            limit: limits.max_total,
        }
    } else {
        Problem::Corrupt { reason: e.to_string() }
    }
}

/// Check a member name: relative, `/`-separated, printable UTF-8, no `.`/`..` components.
fn check_path(raw: &[u8]) -> Result<String, Problem> {
    let shown = crate::escape_bytes(raw);
    let bad = |reason: &str| {
        Err(Problem::UnsafePath {
            member: shown.clone(),
            reason: reason.into(),
        })
    };
    let Ok(s) = std::str::from_utf8(raw) else {
        return bad("not UTF-8");
    };
    if s.is_empty() {
        return bad("empty");
    }
    if s.chars().any(char::is_control) {
        return bad("control character");
    }
    if s.contains('\\') {
        return bad("backslash");
    }
    if s.starts_with('/') {
        return bad("absolute path");
    }
    for c in s.split('/') {
        match c {
            ".." => return bad("'..' component"),
            "." => return bad("'.' component"),
            "" => return bad("empty component"),
            _ => {}
        }
    }
    Ok(s.to_string())
}

fn kind_name(t: tar::EntryType) -> String {
    match t {
        tar::EntryType::Symlink => "symlink".into(),
        tar::EntryType::Link => "hardlink".into(),
        tar::EntryType::Char => "character device".into(),
        tar::EntryType::Block => "block device".into(),
        tar::EntryType::Fifo => "FIFO".into(),
        tar::EntryType::Directory => "directory".into(),
        tar::EntryType::XHeader | tar::EntryType::XGlobalHeader => "PAX header".into(),
        tar::EntryType::GNULongName | tar::EntryType::GNULongLink => "GNU long-name header".into(),
        other => format!("entry of type {:?}", other.as_byte() as char),
    }
}

/// Read up to `cap` bytes of a member; `Err(size)` when it is larger.
fn read_member<R: Read>(r: &mut R, size: u64, cap: u64) -> io::Result<Result<Vec<u8>, u64>> {
    if size > cap {
        return Ok(Err(size));
    }
    let mut v = Vec::with_capacity(size as usize);
    r.take(cap + 1).read_to_end(&mut v)?;
    Ok(Ok(v))
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A release signature to verify: the member's index in the manifest, the release it is filed
/// under, its bytes, and (when a sink waits for whole releases) its place in its release.
type Job = (usize, Digest, Vec<u8>, Option<Slot>);

/// Where a signature belongs: its release's index in the manifest, its position there, and how
/// many signatures the release has.
#[derive(Debug, Clone, Copy)]
struct Slot {
    release: usize,
    position: usize,
    count: usize,
}

/// Receives each release the moment all its signatures have been verified valid, on a
/// verification worker, while the rest of the bundle is still being read. The bundle may still
/// be rejected afterwards, so what a sink does must stay invisible until its caller knows the
/// whole bundle passed (`unpack emit` stages hidden temporary files and renames them only then).
pub trait ReleaseSink: Sync {
    /// `index` is the release's position in the manifest; `signatures` are in manifest order.
    fn release(&self, index: usize, digest: &Digest, signatures: &[&[u8]]);
}

/// Signatures of releases not yet complete, by release index (shared by the workers).
type Pending = Mutex<std::collections::HashMap<usize, Vec<Option<Vec<u8>>>>>;

/// Verify one job on a worker; hand a release to the sink once its last signature is in.
fn verify_job(opts: &CheckOptions, sink: Option<&dyn ReleaseSink>, pending: &Pending, job: Job) -> Done {
    let (i, digest, mut bytes, slot) = job;
    let report = verify::verify_release_signature(&opts.release_keys, &digest, &bytes, opts.now, opts.strict);
    if let (Some(sink), Some(slot), true) = (sink, slot, report.verdict.is_valid()) {
        let body = if opts.keep_bodies {
            bytes.clone()
        } else {
            std::mem::take(&mut bytes)
        };
        let complete = {
            let mut p = pending.lock().expect("no worker panics holding the lock");
            let entry = p.entry(slot.release).or_insert_with(|| vec![None; slot.count]);
            entry[slot.position] = Some(body);
            if entry.iter().all(Option::is_some) {
                p.remove(&slot.release)
            } else {
                None
            }
        };
        if let Some(bodies) = complete {
            let refs: Vec<&[u8]> = bodies.iter().map(|b| b.as_deref().unwrap_or_default()).collect();
            sink.release(slot.release, &digest, &refs);
        }
    }
    let bytes = if opts.keep_bodies { bytes } else { Vec::new() };
    (i, report, bytes)
}
/// A verified signature: the member's index, the report, its bytes back.
type Done = (usize, SignatureReport, Vec<u8>);

/// What the stream pass collected.
#[derive(Default)]
struct Scan {
    problems: Vec<Problem>,
    manifest: Option<Manifest>,
    /// The manifest's exact bytes, until the packer's signature has been checked.
    manifest_bytes: Vec<u8>,
    packer: Option<PackerStatus>,
    /// Which of the manifest's members were seen (parallel to `manifest.members`).
    seen_members: Vec<bool>,
    /// Names seen that the manifest does not list (or all names, before a manifest).
    seen_other: BTreeSet<String>,
    /// Where matching release signatures go to be verified while the stream is read, in
    /// batches (one wake-up of a worker per batch, not per signature).
    jobs: Option<mpsc::SyncSender<Vec<Job>>>,
    /// The batch being filled.
    batch: Vec<Job>,
    /// Each member's place in its release (by member index), when a sink is streamed to.
    slots: Vec<Option<Slot>>,
}

/// Signatures handed to a verification worker at once.
const JOB_BATCH: usize = 32;

impl Scan {
    fn queue(&mut self, job: Job) {
        self.batch.push(job);
        if self.batch.len() >= JOB_BATCH {
            self.flush_jobs();
        }
    }

    fn flush_jobs(&mut self) {
        if let (Some(jobs), false) = (&self.jobs, self.batch.is_empty()) {
            let _ = jobs.send(std::mem::take(&mut self.batch));
        }
    }
}

/// The release digest a member path is filed under (`signatures/sha256=<hex>/signature-N`).
fn digest_of_path(path: &str) -> Option<Digest> {
    let rest = path.strip_prefix("signatures/sha256=")?;
    let (hex, _) = rest.split_once('/')?;
    Digest::from_hex(hex).ok()
}

/// Detect the compression from the first bytes (never the file name) and return the
/// decompressed stream; an unknown magic is a rejection.
fn open_stream<'a, R: Read + 'a>(mut input: R) -> Result<(Compression, Box<dyn Read + 'a>), BundleError> {
    let mut head = Vec::with_capacity(512);
    (&mut input).take(512).read_to_end(&mut head)?;
    let Some(compression) = Compression::detect(&head) else {
        let magic = hex::encode(&head[..head.len().min(8)]);
        return Err(BundleError::Rejected {
            sha256: None,
            manifest: None,
            problems: vec![Problem::UnknownCompression { magic }],
        });
    };
    let joined = Cursor::new(head).chain(input);
    let decoded: Box<dyn Read + 'a> = match compression {
        Compression::None => Box::new(joined),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(joined)),
        Compression::Zstd => Box::new(zstd::Decoder::new(joined)?),
    };
    Ok((compression, decoded))
}

/// Read and check a whole bundle from `input`; on success every check has passed. Release
/// signatures are verified on one thread per core while the archive is still being read; with
/// a `sink`, each release is handed to it as soon as its signatures are verified.
pub fn read_bundle<R: Read>(
    input: R,
    opts: &CheckOptions,
    sink: Option<&dyn ReleaseSink>,
) -> Result<VerifiedBundle, BundleError> {
    let tap_state = Rc::new(RefCell::new((Sha256::new(), 0u64)));
    let tap = Tap {
        inner: input,
        state: tap_state.clone(),
    };
    let (compression, decoded) = open_stream(tap)?;
    let capped = Capped {
        inner: decoded,
        left: opts.limits.max_total,
        limit: opts.limits.max_total,
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // A short queue: when the workers fall behind, the reader waits instead of holding every
    // signature of the bundle in memory.
    let (job_tx, job_rx) = mpsc::sync_channel::<Vec<Job>>(2 * workers);
    let job_rx = Mutex::new(job_rx);
    let pending = Pending::default();
    std::thread::scope(|s| {
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (rx, pending) = (&job_rx, &pending);
            // Each worker keeps its results and hands them over when joined (a channel back
            // woke the reader once per signature).
            handles.push(s.spawn(move || {
                let mut done: Vec<Done> = Vec::new();
                loop {
                    let batch = rx.lock().expect("no worker panics holding the lock").recv();
                    let Ok(batch) = batch else { return done };
                    done.extend(batch.into_iter().map(|job| verify_job(opts, sink, pending, job)));
                }
            }));
        }
        let mut scan = Scan {
            jobs: Some(job_tx),
            ..Scan::default()
        };
        let mut archive = tar::Archive::new(capped);
        let stream_ok = scan_entries(&mut archive, opts, sink.is_some(), &mut scan);
        if stream_ok {
            // Whatever follows the end-of-archive block must be zero padding, to the end.
            let mut rest = archive.into_inner();
            let mut buf = [0u8; 8192];
            loop {
                match rest.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        if buf[..n].iter().any(|&b| b != 0) {
                            scan.problems.push(Problem::TrailingData);
                            break;
                        }
                    }
                    Err(e) => {
                        scan.problems.push(stream_problem(&e, &opts.limits));
                        break;
                    }
                }
            }
        }
        // Close the job queue; the workers finish what is queued and stop.
        scan.flush_jobs();
        scan.jobs = None;
        // Join each worker for real: the scope alone returns before a thread's thread-locals
        // (its inflaters) are dropped, which LeakSanitizer reports as a leak.
        let done: Vec<Vec<Done>> = handles
            .into_iter()
            .map(|h| h.join().expect("a verification worker panicked"))
            .collect();
        let (hasher, size) = {
            let st = tap_state.borrow();
            (st.0.clone(), st.1)
        };
        let sha256 = hex::encode(hasher.finalize());
        finish(opts, scan, done, sha256, size, compression)
    })
}

/// Read `manifest.json` (the first member) and nothing else, without checking signatures or
/// members: for showing what a bundle claims to hold.
pub fn read_manifest_only<R: Read>(input: R) -> Result<Manifest, BundleError> {
    let limits = Limits::default();
    let reject = |p: Problem| BundleError::Rejected {
        sha256: None,
        manifest: None,
        problems: vec![p],
    };
    let (_, decoded) = open_stream(input)?;
    let mut archive = tar::Archive::new(decoded);
    let mut entries = archive
        .entries()
        .map_err(|e| reject(stream_problem(&e, &limits)))?
        .raw(true);
    let mut first = match entries.next() {
        Some(Ok(e)) => e,
        Some(Err(e)) => return Err(reject(stream_problem(&e, &limits))),
        None => return Err(reject(Problem::NoManifest)),
    };
    let raw = first.header().path_bytes().into_owned();
    if raw != MANIFEST.as_bytes() {
        return Err(reject(Problem::ManifestNotFirst {
            member: crate::escape_bytes(&raw),
        }));
    }
    let size = first.size();
    let bytes = match read_member(&mut first, size, limits.max_manifest) {
        Err(e) => return Err(reject(stream_problem(&e, &limits))),
        Ok(Err(_)) => {
            return Err(reject(Problem::TooLarge {
                member: MANIFEST.into(),
                limit: limits.max_manifest,
            }))
        }
        Ok(Ok(b)) => b,
    };
    Manifest::parse(&bytes).map_err(|e| reject(manifest_problem(e)))
}

/// Walk the tar entries; returns false when the stream itself broke.
fn scan_entries<R: Read>(archive: &mut tar::Archive<R>, opts: &CheckOptions, streaming: bool, scan: &mut Scan) -> bool {
    let limits = &opts.limits;
    let entries = match archive.entries() {
        Ok(e) => e.raw(true),
        Err(e) => {
            scan.problems.push(stream_problem(&e, limits));
            return false;
        }
    };
    let mut index = 0usize;
    let mut sig_seen = false;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                scan.problems.push(stream_problem(&e, limits));
                return false;
            }
        };
        index += 1;
        let raw_path = entry.header().path_bytes().into_owned();
        let etype = entry.header().entry_type();
        let path = match check_path(&raw_path) {
            Ok(p) => p,
            Err(p) => {
                scan.problems.push(p);
                continue;
            }
        };
        if !etype.is_file() || etype == tar::EntryType::Continuous {
            scan.problems.push(Problem::NotRegularFile {
                member: crate::escape_name(&path),
                kind: kind_name(etype),
            });
            continue;
        }
        let size = entry.size();
        if index == 1 {
            if path != MANIFEST {
                scan.problems.push(Problem::ManifestNotFirst { member: path.clone() });
                scan.seen_other.insert(path);
                continue;
            }
            match read_member(&mut entry, size, limits.max_manifest) {
                Err(e) => {
                    scan.problems.push(stream_problem(&e, limits));
                    return false;
                }
                Ok(Err(_)) => scan.problems.push(Problem::TooLarge {
                    member: path.clone(),
                    limit: limits.max_manifest,
                }),
                Ok(Ok(bytes)) => match Manifest::parse(&bytes) {
                    Ok(m) => {
                        scan.seen_members = vec![false; m.members.len()];
                        if streaming {
                            scan.slots = slots_of(&m);
                        }
                        scan.manifest = Some(m);
                        scan.manifest_bytes = bytes;
                    }
                    Err(e) => scan.problems.push(manifest_problem(e)),
                },
            }
            continue;
        }
        if path == MANIFEST {
            scan.problems.push(Problem::Duplicate { member: path.clone() });
            continue;
        }
        if path == MANIFEST_SIG {
            if sig_seen {
                scan.problems.push(Problem::Duplicate { member: path.clone() });
                continue;
            }
            sig_seen = true;
            match read_member(&mut entry, size, limits.max_manifest_sig) {
                Err(e) => {
                    scan.problems.push(stream_problem(&e, limits));
                    return false;
                }
                Ok(Err(_)) => scan.problems.push(Problem::TooLarge {
                    member: path.clone(),
                    limit: limits.max_manifest_sig,
                }),
                Ok(Ok(sig)) => {
                    if index == 2 {
                        check_packer(opts, scan, Some(&sig));
                    } else {
                        scan.problems.push(Problem::PackerSignature {
                            reason: "must be the second member".into(),
                        });
                    }
                }
            }
            continue;
        }
        if scan.packer.is_none() {
            // No signature member came second.
            check_packer(opts, scan, None);
        }
        let listed = scan
            .manifest
            .as_ref()
            .map(|m| m.members.binary_search_by(|x| x.path.as_str().cmp(&path)).ok());
        match listed {
            Some(Some(i)) if scan.seen_members[i] => {
                scan.problems.push(Problem::Duplicate { member: path });
                continue;
            }
            Some(Some(i)) => scan.seen_members[i] = true,
            _ => {
                if !scan.seen_other.insert(path.clone()) {
                    scan.problems.push(Problem::Duplicate { member: path });
                    continue;
                }
            }
        }
        let body = match read_member(&mut entry, size, limits.max_member) {
            Err(e) => {
                scan.problems.push(stream_problem(&e, limits));
                return false;
            }
            Ok(Err(_)) => {
                scan.problems.push(Problem::TooLarge {
                    member: path.clone(),
                    limit: limits.max_member,
                });
                continue;
            }
            Ok(Ok(b)) => b,
        };
        let (Some(manifest), Some(listed)) = (&scan.manifest, listed) else {
            continue; // no manifest to check against: its absence is reported already
        };
        let Some(i) = listed else {
            scan.problems.push(Problem::Unlisted { member: path });
            continue;
        };
        let want = &manifest.members[i];
        if body.len() as u64 != want.size {
            scan.problems.push(Problem::SizeMismatch {
                member: path,
                expected: want.size,
                got: body.len() as u64,
            });
            continue;
        }
        let got = sha256_hex(&body);
        if got != want.sha256 {
            scan.problems.push(Problem::HashMismatch {
                member: path,
                expected: want.sha256.clone(),
                got,
            });
            continue;
        }
        match (digest_of_path(&path), scan.jobs.is_some()) {
            (Some(d), true) => {
                let slot = scan.slots.get(i).copied().flatten();
                scan.queue((i, d, body, slot))
            }
            _ => scan.problems.push(Problem::Manifest {
                reason: format!("inconsistent: member {path:?} is not a release signature"),
            }),
        }
    }
    if index == 0 {
        scan.problems.push(Problem::NoManifest);
    } else if scan.packer.is_none() {
        check_packer(opts, scan, None);
    }
    true
}

/// Each member's place in its release, by member index.
fn slots_of(m: &Manifest) -> Vec<Option<Slot>> {
    let mut slots = vec![None; m.members.len()];
    for (release, r) in m.releases.iter().enumerate() {
        for (position, sig) in r.signatures.iter().enumerate() {
            if let Ok(i) = m.members.binary_search_by(|x| x.path.as_str().cmp(&sig.path)) {
                slots[i] = Some(Slot {
                    release,
                    position,
                    count: r.signatures.len(),
                });
            }
        }
    }
    slots
}

fn manifest_problem(e: ManifestError) -> Problem {
    Problem::Manifest {
        reason: match e {
            ManifestError::Invalid { reason } => format!("not a valid manifest: {reason}"),
            ManifestError::UnknownFormat { got } => {
                format!(
                    "unknown format {got:?} (this sigbundle reads {:?})",
                    crate::manifest::FORMAT_V1
                )
            }
            ManifestError::Inconsistent { reason } => format!("inconsistent: {reason}"),
        },
    }
}

/// Judge the packer signature (or its absence) once the manifest has been read.
fn check_packer(opts: &CheckOptions, scan: &mut Scan, sig: Option<&[u8]>) {
    let claimed = scan.manifest.as_ref().map(|m| m.packer.clone());
    let status = match (sig, &opts.packer_keys) {
        (None, _) if opts.allow_unsigned => PackerStatus::Unsigned,
        (None, _) => {
            scan.problems.push(Problem::PackerSignatureMissing);
            PackerStatus::Unsigned
        }
        (Some(_), None) => {
            if !opts.allow_unsigned {
                // The caller must give keys or allow unsigned; the binaries enforce this as a
                // usage error before reading, so this is a defensive refusal.
                scan.problems.push(Problem::PackerSignature {
                    reason: "no trusted packer key was given to check it".into(),
                });
            }
            PackerStatus::NotChecked {
                claimed: claimed.clone().unwrap_or_default(),
            }
        }
        (Some(sig), Some(keys)) => {
            if scan.manifest.is_none() {
                scan.packer = Some(PackerStatus::Unsigned);
                return;
            }
            match verify::verify_detached(keys, sig, &scan.manifest_bytes, opts.now) {
                Ok(ok) => {
                    if claimed.as_deref() != Some(ok.signer_cert.as_str()) {
                        scan.problems.push(Problem::PackerMismatch {
                            manifest: claimed.clone().unwrap_or_default(),
                            signer: ok.signer_cert.clone(),
                        });
                    }
                    PackerStatus::Verified {
                        fingerprint: ok.signer_cert,
                        signed_at: ok.created,
                    }
                }
                Err(v) => {
                    let reason = match v {
                        Verdict::UntrustedSigner { .. } => {
                            format!("{v} (not a trusted packer key)")
                        }
                        other => other.to_string(),
                    };
                    scan.problems.push(Problem::PackerSignature { reason });
                    PackerStatus::Unsigned
                }
            }
        }
    };
    scan.packer = Some(status);
    // The manifest's bytes were needed for this check only.
    scan.manifest_bytes = Vec::new();
}

/// After the stream: missing members, the verification results, the verdict.
fn finish(
    opts: &CheckOptions,
    mut scan: Scan,
    done: Vec<Vec<Done>>,
    sha256: String,
    size: u64,
    compression: Compression,
) -> Result<VerifiedBundle, BundleError> {
    let Some(manifest) = scan.manifest.take() else {
        if !scan.problems.iter().any(|p| {
            matches!(
                p,
                Problem::Manifest { .. }
                    | Problem::NoManifest
                    | Problem::ManifestNotFirst { .. }
                    | Problem::TooLarge { .. }
                    | Problem::Corrupt { .. }
            )
        }) {
            scan.problems.push(Problem::NoManifest);
        }
        return Err(BundleError::Rejected {
            sha256: Some(sha256),
            manifest: None,
            problems: scan.problems,
        });
    };
    let stream_broke = scan.problems.iter().any(|p| matches!(p, Problem::Corrupt { .. }));
    if !stream_broke {
        for (m, seen) in manifest.members.iter().zip(&scan.seen_members) {
            if !seen {
                scan.problems.push(Problem::MissingMember { member: m.path.clone() });
            }
        }
    }
    let mut by_member: Vec<Option<(SignatureReport, Vec<u8>)>> = (0..manifest.members.len()).map(|_| None).collect();
    // Each worker's results as they are (one list of all would copy them at the peak).
    for (i, report, bytes) in done.into_iter().flatten() {
        by_member[i] = Some((report, bytes));
    }
    let mut releases = Vec::with_capacity(manifest.releases.len());
    for r in &manifest.releases {
        let mut sigs = Vec::with_capacity(r.signatures.len());
        for s in &r.signatures {
            let found = manifest
                .members
                .binary_search_by(|m| m.path.as_str().cmp(&s.path))
                .ok()
                .and_then(|i| by_member[i].take());
            let Some((report, bytes)) = found else { continue };
            if !report.verdict.is_valid() {
                scan.problems.push(Problem::ReleaseSignature {
                    member: s.path.clone(),
                    digest: r.digest.to_string(),
                    verdict: report.verdict.to_string(),
                });
            }
            sigs.push(CheckedSignature {
                path: s.path.clone(),
                sha256: s.sha256.clone(),
                report,
                bytes,
            });
        }
        let entries = opts.release_keys.unsatisfied_by(sigs.iter().map(|s| &s.report));
        if !entries.is_empty() && !sigs.is_empty() {
            scan.problems.push(Problem::UnsatisfiedTrust {
                digest: r.digest.to_string(),
                entries,
            });
        }
        releases.push(CheckedRelease {
            digest: r.digest,
            requested: r.requested.clone(),
            signatures: sigs,
        });
    }
    if !scan.problems.is_empty() {
        return Err(BundleError::Rejected {
            sha256: Some(sha256),
            manifest: Some(Box::new(manifest)),
            problems: scan.problems,
        });
    }
    Ok(VerifiedBundle {
        sha256,
        size,
        compression,
        packer: scan.packer.unwrap_or(PackerStatus::Unsigned),
        manifest,
        releases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        assert!(check_path(b"signatures/sha256=ab/signature-1").is_ok());
        for bad in [
            &b"../x"[..],
            b"/etc/passwd",
            b"a/./b",
            b"a\\b",
            b"a//b",
            b"a\x1b[2Jb",
            b"\xff",
            b"a/..",
        ] {
            assert!(check_path(bad).is_err(), "{}", crate::escape_bytes(bad));
        }
        let Err(Problem::UnsafePath { member, .. }) = check_path(b"x\x1b[31m") else {
            panic!()
        };
        assert_eq!(member, "x\\u{1b}[31m");
    }

    #[test]
    fn detects_compression_by_magic() {
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Compression::Zstd)
        );
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8]), Some(Compression::Gzip));
        assert_eq!(Compression::detect(b"BZh91AY"), None);
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(Compression::detect(&tar), Some(Compression::None));
    }
}
