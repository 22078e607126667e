//! The bundle archive (format v1, `docs/bundle-format.md`): a deterministic writer, and a
//! streaming reader that checks everything as it reads and reports every problem it finds.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::rc::Rc;
use std::sync::{mpsc, Mutex};
use std::time::SystemTime;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::carry::Artifact;
use crate::digest::Digest;
use crate::keyring::Keyring;
use crate::manifest::{
    Manifest, ManifestError, ManifestLimits, SigstoreEntry, SIGSTORE_DIR, SIGSTORE_INDEX, SIGSTORE_LAYOUT,
};
use crate::packer_key::{verify_packer_signatures, PackerVerdict};
use crate::verify::{self, SignatureReport, MAX_SIGNATURE_BYTES};

/// The manifest's member name.
pub const MANIFEST: &str = "manifest.json";
/// The packer signature's member name.
pub const MANIFEST_SIG: &str = "manifest.json.asc";
/// How problems of the decompressed stream as a whole name it.
const ARCHIVE: &str = "(decompressed archive)";

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

/// The largest zstd window a bundle may need (2^23 bytes): pack's level uses 2 MiB, and the
/// decoder allocates what a frame asks for.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// The one tar header `pack` writes for a member: ustar (`ustar\0` + `00`), the name in the
/// name field alone, octal numbers, regular file `0`, mode 0644, uid/gid 0, no user or group
/// names, no link name, no prefix.
fn canonical_header(path: &str, size: u64, mtime: u64) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(path)?;
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_username("")?;
    h.set_groupname("")?;
    h.set_cksum();
    Ok(h)
}

/// The ustar header's fields, by byte range, for naming the one that differs.
const HEADER_FIELDS: &[(&str, usize, usize)] = &[
    ("name", 0, 100),
    ("mode", 100, 108),
    ("uid", 108, 116),
    ("gid", 116, 124),
    ("size", 124, 136),
    ("mtime", 136, 148),
    ("checksum", 148, 156),
    ("typeflag", 156, 157),
    ("linkname", 157, 257),
    ("magic", 257, 263),
    ("version", 263, 265),
    ("uname", 265, 297),
    ("gname", 297, 329),
    ("devmajor", 329, 337),
    ("devminor", 337, 345),
    ("prefix", 345, 500),
    ("padding", 500, 512),
];

/// Check that a header is exactly the one `pack` writes for its name, size and mtime, so every
/// tar reader (GNU tar, bsdtar, Python's tarfile) reads the same name, type and size from it as
/// sigbundle does: no prefix field (applied by some readers, not by others), no GNU or v7
/// magic, no base-256 numbers, no typeflag `\0`. Returns the first field that differs.
fn non_canonical_field(header: &tar::Header, name: &str) -> Option<&'static str> {
    let raw = header.as_bytes();
    if &raw[257..265] != b"ustar\x0000" {
        return Some(if &raw[257..263] == b"ustar\0" {
            "version"
        } else {
            "magic"
        });
    }
    let (Ok(size), Ok(mtime)) = (header.size(), header.mtime()) else {
        return Some("size");
    };
    let Ok(want) = canonical_header(name, size, mtime) else {
        return Some("name");
    };
    let want = want.as_bytes();
    // The checksum differs whenever another field does: name that field.
    let differs = |(_, a, b): &&(&str, usize, usize)| raw[*a..*b] != want[*a..*b];
    let (fields, checksum) = HEADER_FIELDS
        .iter()
        .partition::<Vec<_>, _>(|(f, _, _)| *f != "checksum");
    fields
        .iter()
        .find(differs)
        .or_else(|| checksum.iter().find(differs))
        .map(|(f, _, _)| *f)
}

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
            b.append(&canonical_header(path, data.len() as u64, mtime)?, data)
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
    /// Size of one member under `sigstore/` (a node reads a `.sig` manifest or layer of at
    /// most 4 MiB).
    pub max_sigstore_member: u64,
    /// The members under `sigstore/` in all (they are kept until every artifact is judged).
    pub max_sigstore_total: u64,
    /// What the manifest may make the reader build (its `max_members` also bounds the members
    /// of the archive: at most that many, plus the manifest and its signature).
    pub manifest: ManifestLimits,
    /// Problems kept for the report; the rest are counted.
    pub max_problems: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total: 1 << 30,
            max_manifest: 64 << 20,
            max_manifest_sig: 64 << 10,
            max_member: MAX_SIGNATURE_BYTES,
            max_sigstore_member: crate::sigstore::verify::MAX_MANIFEST_SIZE as u64,
            max_sigstore_total: 64 << 20,
            manifest: ManifestLimits::default(),
            max_problems: 100,
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
    /// The keys and identity rule every sigstore artifact is judged against again, as a node
    /// judges it.
    pub sigstore_trust: crate::sigstore::Trust,
    /// Refuse, beyond the cluster's rules, what `--strict` refuses.
    pub strict: bool,
    /// The clock for signature expiry.
    pub now: SystemTime,
    pub limits: Limits,
    /// Keep each signature's bytes in the result (to emit or apply them); `false` frees them as
    /// soon as they are verified.
    pub keep_bodies: bool,
    /// Told how many bytes of the bundle file have been read so far (for a progress bar).
    pub progress: Option<ReadProgress>,
    /// How many distinct trusted packer certificates must have signed the manifest (1 unless
    /// two-person control asks for more: `--require-signers`).
    pub require_signers: usize,
}

/// A callback told the bytes of a bundle file read so far.
#[derive(Clone)]
pub struct ReadProgress(pub std::sync::Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for ReadProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadProgress")
    }
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
    /// The compressed container is not the one stream `pack` writes.
    NotCanonicalStream {
        reason: String,
    },
    /// A tar header differs from the one `pack` writes for that member.
    NotCanonicalHeader {
        member: String,
        field: String,
    },
    TooManyMembers {
        limit: usize,
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
    /// Fewer distinct trusted packers signed than `--require-signers` asks.
    TooFewSigners {
        required: usize,
        signed: Vec<String>,
        not_signed: Vec<String>,
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
    /// A sigstore `.sig` artifact a node would not accept.
    SigstoreSignature {
        repository: String,
        digest: String,
        verdict: String,
        reason: String,
    },
    /// The `sigstore/` OCI layout is not the one the manifest describes.
    SigstoreLayout {
        member: String,
        reason: String,
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
            NotCanonicalStream { reason } => write!(f, "not the one compressed stream pack writes: {reason}"),
            NotCanonicalHeader { member, field } => write!(
                f,
                "{member}: tar header field {field:?} differs from what pack writes (another tar reader could read another name, type or size)"
            ),
            TooManyMembers { limit } => write!(f, "more than {limit} members; the rest was not read"),
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
            TooFewSigners { required, signed, not_signed } => write!(
                f,
                "{MANIFEST_SIG}: {required} trusted packer signatures required, {} found (signed by {}; not signed by {})",
                signed.len(),
                if signed.is_empty() { "none".to_string() } else { signed.join(", ") },
                if not_signed.is_empty() { "-".to_string() } else { not_signed.join(", ") }
            ),
            Unlisted { member } => write!(f, "{member}: not listed in the manifest"),
            MissingMember { member } => write!(f, "{member}: listed in the manifest but missing"),
            SizeMismatch { member, expected, got } => write!(f, "{member}: size {got}, manifest says {expected}"),
            HashMismatch { member, expected, got } => write!(f, "{member}: sha256 {got}, manifest says {expected}"),
            ReleaseSignature {
                member,
                digest,
                verdict,
            } => write!(f, "{member}: release signature for {digest} does not verify: {verdict}"),
            SigstoreSignature {
                repository,
                digest,
                verdict,
                reason,
            } => write!(
                f,
                "sigstore signature of {repository}@{digest} is not accepted: {verdict}: {reason}"
            ),
            SigstoreLayout { member, reason } => write!(f, "{member}: {reason}"),
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
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
        /// The other trusted packers who signed the manifest too (`pack cosign`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        cosigners: Vec<Cosigner>,
    },
    /// Signed, but no packer keys were given to check it (`--allow-unsigned`).
    NotChecked { claimed: String },
    /// Not signed (`--allow-unsigned`).
    Unsigned,
}

/// Another trusted packer's signature of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cosigner {
    pub fingerprint: String,
    pub signed_at: u64,
}

impl PackerStatus {
    /// Who packed the bundle, as verified: the fingerprint when the packer's signature was
    /// checked, `unsigned` for a bundle accepted without one, `None` when a signature was there
    /// but not checked. What the manifest claims is never taken as fact.
    pub fn verified_packer(&self) -> Option<String> {
        match self {
            PackerStatus::Verified { fingerprint, .. } => Some(fingerprint.clone()),
            PackerStatus::Unsigned => Some(crate::manifest::UNSIGNED.to_string()),
            PackerStatus::NotChecked { .. } => None,
        }
    }
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

/// A sigstore `.sig` artifact judged again at unpack time, with its bytes.
#[derive(Debug, Clone, Serialize)]
pub struct CheckedSigstore {
    #[serde(flatten)]
    pub entry: SigstoreEntry,
    /// This side's verdict (against this side's keys).
    pub node: crate::sigstore::Report,
    #[serde(skip)]
    pub artifact: Artifact,
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
    /// The sigstore artifacts (format 2), in manifest order, each accepted again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sigstore: Vec<CheckedSigstore>,
}

/// Why a bundle was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read bundle: {0}")]
    Io(#[from] io::Error),
    #[error("bundle rejected: {}", summarize(.problems, *.more_problems))]
    Rejected {
        /// sha256 of the whole file, when it could be read to its end.
        sha256: Option<String>,
        /// The manifest, when it could be read, for the audit record.
        manifest: Option<Box<Manifest>>,
        /// How the packer's signature was judged, when it was.
        packer: Option<Box<PackerStatus>>,
        /// The first problems found ([`Limits::max_problems`]).
        problems: Vec<Problem>,
        /// How many more were found and not kept.
        more_problems: u64,
    },
}

fn summarize(problems: &[Problem], more: u64) -> String {
    match problems {
        [] => "no problem named".into(),
        [one] if more == 0 => one.to_string(),
        // Each is listed once, under the error (and in `problems` of the JSON and the record).
        _ => format!("{} problems", problems.len() as u64 + more),
    }
}

impl BundleError {
    /// A refusal is a verification failure; not being able to read the file is I/O.
    pub fn exit_class(&self) -> crate::exit::ExitClass {
        match self {
            BundleError::Rejected { .. } => crate::exit::ExitClass::Verification,
            BundleError::Io(_) => crate::exit::ExitClass::UsageOrIo,
        }
    }

    /// The problems of a refused bundle (the first ones) and how many more there were.
    pub fn rejection(&self) -> Option<(&[Problem], u64)> {
        match self {
            BundleError::Rejected {
                problems,
                more_problems,
                ..
            } => Some((problems, *more_problems)),
            BundleError::Io(_) => None,
        }
    }

    /// A refusal for one problem found before anything else could be read.
    fn refused(problem: Problem) -> BundleError {
        BundleError::Rejected {
            sha256: None,
            manifest: None,
            packer: None,
            problems: vec![problem],
            more_problems: 0,
        }
    }
}

/// The problems found, the first `cap` kept and the rest counted.
#[derive(Debug, Default)]
struct Problems {
    kept: Vec<Problem>,
    more: u64,
    cap: usize,
}

impl Problems {
    fn push(&mut self, p: Problem) {
        if self.kept.len() < self.cap {
            self.kept.push(p);
        } else {
            self.more += 1;
        }
    }

    /// A problem that ends the reading: kept first, whatever was found before it.
    fn push_first(&mut self, p: Problem) {
        self.kept.insert(0, p);
        if self.kept.len() > self.cap {
            self.kept.pop();
            self.more += 1;
        }
    }

    fn any(&self, f: impl Fn(&Problem) -> bool) -> bool {
        self.kept.iter().any(f)
    }

    fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.more == 0
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

/// The decompressed stream of a bundle. Only one stream, as `pack` writes it, is read: one
/// gzip member (no header fields), or one zstd frame (with its checksum, no dictionary);
/// [`Decoded::finish`] then says what, if anything, follows it in the file.
enum Decoded<R: Read> {
    Plain(R),
    Gzip(Box<flate2::bufread::GzDecoder<BufReader<R>>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, BufReader<R>>>),
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(r) => r.read(buf),
            Decoded::Gzip(d) => d.read(buf),
            Decoded::Zstd(d) => d.read(buf),
        }
    }
}

impl<R: Read> Decoded<R> {
    /// Once the decompressed stream has ended: why the file goes on after the compressed
    /// stream (`None` when it does not), and the raw input, to read to its end.
    fn finish(self) -> io::Result<(Option<String>, Raw<R>)> {
        let mut rest = match self {
            Decoded::Plain(r) => return Ok((None, Raw::Plain(r))),
            Decoded::Gzip(d) => d.into_inner(),
            Decoded::Zstd(d) => d.finish(),
        };
        let head = rest.fill_buf()?;
        let why = match head {
            [] => None,
            [0x1f, 0x8b, ..] => Some("a second gzip member follows the first".to_string()),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("a second zstd frame follows the first".to_string()),
            [m, 0x2a, 0x4d, 0x18, ..] if m & 0xf0 == 0x50 => {
                Some("a zstd skippable frame follows the frame".to_string())
            }
            _ => Some("data follows the compressed stream".to_string()),
        };
        Ok((why, Raw::Buffered(rest)))
    }

    /// The raw input, when reading stops early.
    fn into_raw(self) -> Raw<R> {
        match self {
            Decoded::Plain(r) => Raw::Plain(r),
            Decoded::Gzip(d) => Raw::Buffered(d.into_inner()),
            Decoded::Zstd(d) => Raw::Buffered(d.finish()),
        }
    }
}

/// The raw input under the decoders, read to its end (through the [`Tap`]) so the bundle's
/// sha256 covers the whole file even when reading stopped early.
enum Raw<R: Read> {
    Plain(R),
    Buffered(BufReader<R>),
}

impl<R: Read> Raw<R> {
    fn drain(self) -> io::Result<()> {
        let sink = &mut io::sink();
        match self {
            Raw::Plain(mut r) => io::copy(&mut r, sink).map(drop),
            // What the buffer holds was hashed when it was read.
            Raw::Buffered(b) => io::copy(&mut b.into_inner(), sink).map(drop),
        }
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
            member: ARCHIVE.into(),
            limit: limits.max_total,
        }
    } else {
        // The tar crate's errors name the member they were reading: escape them too.
        Problem::Corrupt {
            reason: crate::text::escape_name(&crate::text::truncate_chars(&e.to_string(), 300)),
        }
    }
}

/// Check a member name: relative, `/`-separated, printable UTF-8, no `.`/`..` components.
fn check_path(raw: &[u8]) -> Result<String, Problem> {
    let shown = crate::text::escape_bytes(raw);
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
    if s.chars().any(crate::text::is_unsafe_char) {
        return bad("bidirectional or invisible character");
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

/// A release signature to verify.
struct Job {
    /// The member's index in the manifest.
    member: usize,
    /// The release it is filed under.
    digest: Digest,
    bytes: Vec<u8>,
    /// Its place in its release, when a sink waits for whole releases.
    slot: Option<Slot>,
}

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
    let Job {
        member,
        digest,
        mut bytes,
        slot,
    } = job;
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
    Done { member, report, bytes }
}

/// A verified signature.
struct Done {
    /// The member's index in the manifest.
    member: usize,
    report: SignatureReport,
    /// Its bytes back (empty unless [`CheckOptions::keep_bodies`]).
    bytes: Vec<u8>,
}

/// What the stream pass collected.
#[derive(Default)]
struct Scan {
    problems: Problems,
    manifest: Option<Manifest>,
    packer: Option<PackerStatus>,
    /// Which of the manifest's members were seen (parallel to `manifest.members`).
    seen_members: Vec<bool>,
    /// Names seen that the manifest does not list.
    seen_other: BTreeSet<String>,
    /// Where matching release signatures go to be verified while the stream is read, in
    /// batches (one wake-up of a worker per batch, not per signature).
    jobs: Option<mpsc::SyncSender<Vec<Job>>>,
    /// The batch being filled.
    batch: Vec<Job>,
    /// Each member's place in its release (by member index), when a sink is streamed to.
    slots: Vec<Option<Slot>>,
    /// The members under `sigstore/` that matched the manifest, by path, kept until the
    /// artifacts are judged after the stream.
    sigstore: std::collections::BTreeMap<String, Vec<u8>>,
    /// Their bytes in all, and the most they may take.
    sigstore_bytes: u64,
    sigstore_cap: u64,
    sigstore_over: bool,
}

/// How the pass over the archive ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// At the end-of-archive block: what follows must be zero padding.
    Clean,
    /// The stream itself broke (corrupt, truncated, over the cap).
    Broken,
    /// Refused before the end; the rest was not looked at.
    Stopped,
}

/// Signatures handed to a verification worker at once.
const JOB_BATCH: usize = 32;

impl Scan {
    /// Count a listed member as present although it was refused for its header, so it is not
    /// reported missing too: one problem per member, naming what is there.
    fn mark_seen(&mut self, path: &str) {
        if let Some(m) = &self.manifest {
            if let Some(i) = m.member_index(path) {
                self.seen_members[i] = true;
            }
        }
    }

    /// A member at `path`, listed at `listed` or not: its index the first time a listed one is
    /// seen; otherwise the problem is recorded (a duplicate, or not listed) and `None`.
    fn claim(&mut self, listed: Option<usize>, path: String) -> Option<usize> {
        match listed {
            Some(i) if self.seen_members[i] => {
                self.problems.push(Problem::Duplicate { member: path });
                None
            }
            Some(i) => {
                self.seen_members[i] = true;
                Some(i)
            }
            None => {
                if self.seen_other.contains(&path) {
                    self.problems.push(Problem::Duplicate { member: path });
                } else {
                    self.seen_other.insert(path.clone());
                    self.problems.push(Problem::Unlisted { member: path });
                }
                None
            }
        }
    }

    /// Member `i` of the manifest, read: its size and sha256 as listed, then queued as the
    /// release signature its path files it as.
    fn check_member(&mut self, i: usize, path: String, body: Vec<u8>) {
        let Some(manifest) = &self.manifest else { return };
        let want = &manifest.members[i];
        if body.len() as u64 != want.size {
            self.problems.push(Problem::SizeMismatch {
                member: path,
                expected: want.size,
                got: body.len() as u64,
            });
            return;
        }
        let got = crate::digest::sha256_hex(&body);
        if got != want.sha256 {
            self.problems.push(Problem::HashMismatch {
                member: path,
                expected: want.sha256.clone(),
                got,
            });
            return;
        }
        if path.starts_with(SIGSTORE_DIR) {
            self.sigstore_bytes += body.len() as u64;
            if self.sigstore_bytes > self.sigstore_cap {
                if !self.sigstore_over {
                    self.sigstore_over = true;
                    self.problems.push(Problem::TooLarge {
                        member: "sigstore/ (all its members)".into(),
                        limit: self.sigstore_cap,
                    });
                }
                return;
            }
            self.sigstore.insert(path, body);
            return;
        }
        match (digest_of_path(&path), self.jobs.is_some()) {
            (Some(digest), true) => {
                let slot = self.slots.get(i).copied().flatten();
                self.queue(Job {
                    member: i,
                    digest,
                    bytes: body,
                    slot,
                })
            }
            _ => self.problems.push(Problem::Manifest {
                reason: format!("inconsistent: member {path:?} is not a release signature"),
            }),
        }
    }

    /// The listed members never seen, as problems; unless the stream broke first (members
    /// after a break were never seen: not "missing").
    fn missing_members(&mut self, manifest: &Manifest) {
        let stream_broke = self.problems.any(|p| match p {
            Problem::Corrupt { .. } | Problem::TooManyMembers { .. } => true,
            Problem::TooLarge { member, .. } => member == ARCHIVE,
            _ => false,
        });
        if !stream_broke {
            for (m, seen) in manifest.members.iter().zip(&self.seen_members) {
                if !seen {
                    self.problems.push(Problem::MissingMember { member: m.path.clone() });
                }
            }
        }
    }

    /// The refusal, with what is known for the record.
    fn rejected(self, sha256: Option<String>, manifest: Option<Manifest>) -> BundleError {
        BundleError::Rejected {
            sha256,
            manifest: manifest.map(Box::new),
            packer: self.packer.map(Box::new),
            problems: self.problems.kept,
            more_problems: self.problems.more,
        }
    }

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

/// A bundle's compression and its decompressed stream (the first bytes read to detect the
/// compression, then the rest of the input).
type Opened<R> = (Compression, Decoded<io::Chain<Cursor<Vec<u8>>, R>>);

/// Detect the compression from the first bytes (never the file name) and return the
/// decompressed stream; an unknown magic, or a container header `pack` never writes, is a
/// rejection.
fn open_stream<R: Read>(mut input: R) -> Result<Opened<R>, BundleError> {
    let mut head = Vec::with_capacity(512);
    (&mut input).take(512).read_to_end(&mut head)?;
    let Some(compression) = Compression::detect(&head) else {
        let magic = hex::encode(&head[..head.len().min(8)]);
        return Err(BundleError::refused(Problem::UnknownCompression { magic }));
    };
    let not_canonical = |reason: &str| {
        Err(BundleError::refused(Problem::NotCanonicalStream {
            reason: reason.to_string(),
        }))
    };
    match compression {
        // FLG: FTEXT 1, FHCRC 2, FEXTRA 4, FNAME 8, FCOMMENT 16; pack sets none.
        Compression::Gzip if head.get(2) != Some(&8) => return not_canonical("gzip method is not deflate"),
        Compression::Gzip if head.get(3).is_some_and(|f| *f != 0) => {
            let flg = head[3];
            let names: Vec<&str> = [
                (1, "FTEXT"),
                (2, "FHCRC"),
                (4, "FEXTRA"),
                (8, "FNAME"),
                (16, "FCOMMENT"),
            ]
            .iter()
            .filter(|(bit, _)| flg & bit != 0)
            .map(|(_, n)| *n)
            .collect();
            let names = if names.is_empty() {
                format!("reserved flags {flg:#04x}")
            } else {
                names.join(", ")
            };
            return not_canonical(&format!("the gzip header carries {names}"));
        }
        // Frame header descriptor: content checksum bit 2, dictionary ID bits 0-1.
        Compression::Zstd if head.get(4).is_some_and(|d| d & 0x04 == 0) => {
            return not_canonical("the zstd frame has no content checksum")
        }
        Compression::Zstd if head.get(4).is_some_and(|d| d & 0x03 != 0) => {
            return not_canonical("the zstd frame needs a dictionary")
        }
        _ => {}
    }
    let joined = Cursor::new(head).chain(input);
    let decoded = match compression {
        Compression::None => Decoded::Plain(joined),
        Compression::Gzip => Decoded::Gzip(Box::new(flate2::bufread::GzDecoder::new(BufReader::new(joined)))),
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::with_buffer(BufReader::new(joined))?.single_frame();
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Decoded::Zstd(Box::new(d))
        }
    };
    Ok((compression, decoded))
}

/// Read and check a whole bundle from `input`; on success every check has passed. Release
/// signatures are verified on one thread per core while the archive is still being read; with
/// a `sink`, each release is handed to it as soon as its signatures are verified. When packer
/// keys are given, the packer's signature over the manifest is checked before the manifest is
/// decoded and before any release signature is looked at; a bundle that fails it is refused
/// there, unread past its second member.
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
    // A refusal here has decoded nothing: no hash, manifest or packer to record.
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
            handles.push(s.spawn(move || verify_batches(opts, sink, rx, pending)));
        }
        let mut scan = Scan {
            problems: Problems {
                cap: opts.limits.max_problems.max(1),
                ..Problems::default()
            },
            jobs: Some(job_tx),
            sigstore_cap: opts.limits.max_sigstore_total,
            ..Scan::default()
        };
        let mut archive = tar::Archive::new(capped);
        let ended = scan_entries(&mut archive, opts, sink.is_some(), &mut scan);
        let raw = after_archive(archive.into_inner(), ended, &mut scan.problems, &opts.limits);
        // Close the job queue; the workers finish what is queued and stop.
        scan.flush_jobs();
        scan.jobs = None;
        // Join each worker for real: the scope alone returns before a thread's thread-locals
        // (its inflaters) are dropped, which LeakSanitizer reports as a leak.
        let done: Vec<Vec<Done>> = handles
            .into_iter()
            .map(|h| h.join().expect("a verification worker panicked"))
            .collect();
        // The sha256 covers the whole file, whether or not every byte had to be looked at.
        let drained = raw.and_then(Raw::drain);
        let (hasher, size) = {
            let st = tap_state.borrow();
            (st.0.clone(), st.1)
        };
        let sha256 = drained.is_ok().then(|| hex::encode(hasher.finalize()));
        if let Err(e) = drained {
            if scan.problems.is_empty() {
                return Err(BundleError::Io(e));
            }
        }
        finish(opts, scan, done, sha256, size, compression)
    })
}

/// A verification worker: batches of jobs until the queue closes. It keeps its results and
/// hands them over when joined (a channel back woke the reader once per signature).
fn verify_batches(
    opts: &CheckOptions,
    sink: Option<&dyn ReleaseSink>,
    rx: &Mutex<mpsc::Receiver<Vec<Job>>>,
    pending: &Pending,
) -> Vec<Done> {
    let mut done: Vec<Done> = Vec::new();
    loop {
        let batch = rx.lock().expect("no worker panics holding the lock").recv();
        let Ok(batch) = batch else { return done };
        done.extend(batch.into_iter().map(|job| verify_job(opts, sink, pending, job)));
    }
}

/// After the archive's entries: at a clean end, what follows the end-of-archive block must be
/// zero padding, to the end, and nothing may follow the compressed stream in the file. The raw
/// input, to be read to its end.
fn after_archive<D: Read>(
    mut capped: Capped<Decoded<D>>,
    ended: Ended,
    problems: &mut Problems,
    limits: &Limits,
) -> io::Result<Raw<D>> {
    if ended != Ended::Clean {
        return Ok(capped.inner.into_raw());
    }
    let mut buf = [0u8; 8192];
    loop {
        match capped.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if buf[..n].iter().any(|&b| b != 0) {
                    problems.push(Problem::TrailingData);
                    return Ok(capped.inner.into_raw());
                }
            }
            Err(e) => {
                problems.push(stream_problem(&e, limits));
                return Ok(capped.inner.into_raw());
            }
        }
    }
    let (after, raw) = capped.inner.finish()?;
    if let Some(reason) = after {
        problems.push(Problem::NotCanonicalStream { reason });
    }
    Ok(raw)
}

/// Read `manifest.json` (the first member) and nothing else, without checking signatures or
/// members: for showing what a bundle claims to hold. The manifest is still bounded and
/// checked for consistency.
pub fn read_manifest_only<R: Read>(input: R) -> Result<Manifest, BundleError> {
    read_claims(input).map(|(m, _)| m)
}

/// A bundle's archive as [`write_bundle`] wrote it: compression, the members' mtime, and every
/// member in order (the manifest, its signature, the signatures). For a bundle [`read_bundle`]
/// has accepted: `pack cosign` writes it again with another manifest signature, every other
/// byte of the archive the same.
pub struct Archive {
    pub compression: Compression,
    pub mtime: u64,
    pub members: Vec<(String, Vec<u8>)>,
}

/// Read [`Archive`] from the bytes of a bundle, within `limits`.
pub fn read_archive(bytes: &[u8], limits: &Limits) -> Result<Archive, BundleError> {
    let reject = BundleError::refused;
    let (compression, decoded) = open_stream(bytes)?;
    let mut archive = tar::Archive::new(Capped {
        inner: decoded,
        left: limits.max_total,
        limit: limits.max_total,
    });
    let mut members = Vec::new();
    let mut mtime = 0;
    for entry in archive
        .entries()
        .map_err(|e| reject(stream_problem(&e, limits)))?
        .raw(true)
    {
        let mut e = entry.map_err(|e| reject(stream_problem(&e, limits)))?;
        let name = String::from_utf8_lossy(&name_field(e.header())).into_owned();
        if members.is_empty() {
            mtime = e.header().mtime().map_err(|e| reject(stream_problem(&e, limits)))?;
        }
        let size = e.size();
        let data = match read_member(&mut e, size, limits.max_manifest.max(limits.max_member)) {
            Ok(Ok(d)) => d,
            Ok(Err(_)) => {
                return Err(reject(Problem::TooLarge {
                    member: name,
                    limit: limits.max_member,
                }))
            }
            Err(e) => return Err(reject(stream_problem(&e, limits))),
        };
        members.push((name, data));
    }
    Ok(Archive {
        compression,
        mtime,
        members,
    })
}

/// The manifest and, when the next member is `manifest.json.asc`, its bytes: what a bundle
/// claims, nothing verified (`unpack inspect` without keys shows who it says signed).
pub fn read_claims<R: Read>(input: R) -> Result<(Manifest, Option<Vec<u8>>), BundleError> {
    let limits = Limits::default();
    let reject = BundleError::refused;
    let (_, decoded) = open_stream(input)?;
    let mut archive = tar::Archive::new(Capped {
        inner: decoded,
        left: limits.max_total,
        limit: limits.max_total,
    });
    let mut entries = archive
        .entries()
        .map_err(|e| reject(stream_problem(&e, &limits)))?
        .raw(true);
    let mut first = match entries.next() {
        Some(Ok(e)) => e,
        Some(Err(e)) => return Err(reject(stream_problem(&e, &limits))),
        None => return Err(reject(Problem::NoManifest)),
    };
    let raw = name_field(first.header());
    if raw != MANIFEST.as_bytes() {
        return Err(reject(Problem::ManifestNotFirst {
            member: crate::text::escape_bytes(&raw),
        }));
    }
    if let Some(field) = non_canonical_field(first.header(), MANIFEST) {
        return Err(reject(Problem::NotCanonicalHeader {
            member: MANIFEST.into(),
            field: field.into(),
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
    let manifest = Manifest::parse_bounded(&bytes, &limits.manifest).map_err(|e| reject(manifest_problem(e)))?;
    drop(first);
    let sig = match entries.next() {
        Some(Ok(mut e)) if name_field(e.header()) == MANIFEST_SIG.as_bytes() => {
            let size = e.size();
            match read_member(&mut e, size, limits.max_manifest_sig) {
                Ok(Ok(b)) => Some(b),
                // Too large or unreadable: nothing to show; verification says why.
                _ => None,
            }
        }
        _ => None,
    };
    Ok((manifest, sig))
}

/// A member's name as the header's name field holds it (up to its first NUL): the name every
/// tar reader agrees on once [`non_canonical_field`] found no prefix, long name or extension.
fn name_field(h: &tar::Header) -> Vec<u8> {
    let name = &h.as_old().name;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name[..end].to_vec()
}

/// Read a member's body into memory, or name why not; `Err(true)` when the stream broke.
fn read_body<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    path: &str,
    cap: u64,
    limits: &Limits,
    problems: &mut Problems,
) -> Result<Vec<u8>, bool> {
    let size = entry.size();
    match read_member(entry, size, cap) {
        Err(e) => {
            problems.push(stream_problem(&e, limits));
            Err(true)
        }
        Ok(Err(_)) => {
            problems.push(Problem::TooLarge {
                member: path.to_string(),
                limit: cap,
            });
            Err(false)
        }
        Ok(Ok(b)) => Ok(b),
    }
}

/// Where the walk over the entries stands.
#[derive(Default)]
struct Walk {
    /// Entries seen so far (the current one included).
    index: usize,
    /// The manifest's bytes until the packer's signature has been judged.
    manifest_bytes: Option<Vec<u8>>,
    /// `manifest.json.asc` was seen.
    sig_seen: bool,
}

/// Walk the tar entries. The first must be the manifest, kept as bytes until the second has
/// been seen: the packer's signature, checked over those bytes before they are decoded.
fn scan_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    opts: &CheckOptions,
    streaming: bool,
    scan: &mut Scan,
) -> Ended {
    let limits = &opts.limits;
    let max_entries = limits.manifest.max_members.saturating_add(2);
    let entries = match archive.entries() {
        Ok(e) => e.raw(true),
        Err(e) => {
            scan.problems.push(stream_problem(&e, limits));
            return Ended::Broken;
        }
    };
    let mut walk = Walk::default();
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                scan.problems.push(stream_problem(&e, limits));
                return Ended::Broken;
            }
        };
        walk.index += 1;
        if walk.index > max_entries {
            scan.problems.push_first(Problem::TooManyMembers {
                limit: limits.manifest.max_members,
            });
            return Ended::Stopped;
        }
        if let Err(ended) = scan_entry(&mut entry, &mut walk, opts, streaming, scan) {
            return ended;
        }
    }
    if walk.index == 0 {
        scan.problems.push(Problem::NoManifest);
        return Ended::Clean;
    }
    if let Some(bytes) = walk.manifest_bytes.take() {
        // The manifest alone.
        judge_packer_then_decode(opts, scan, None, &bytes, streaming);
    }
    Ended::Clean
}

/// One entry: its header, then by its place and name the manifest, the packer's signature or a
/// release signature. `Err` ends the walk so.
fn scan_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    walk: &mut Walk,
    opts: &CheckOptions,
    streaming: bool,
    scan: &mut Scan,
) -> Result<(), Ended> {
    let limits = &opts.limits;
    let Some(path) = check_header(entry.header(), walk.index == 1, scan)? else {
        return Ok(());
    };
    if walk.index == 1 {
        if path != MANIFEST {
            scan.problems.push(Problem::ManifestNotFirst { member: path });
            return Err(Ended::Stopped);
        }
        let body = read_body(entry, &path, limits.max_manifest, limits, &mut scan.problems);
        walk.manifest_bytes = Some(body.map_err(ended_by)?);
        return Ok(());
    }
    if let Some(bytes) = walk.manifest_bytes.take() {
        // The second member: the packer's signature, or (unsigned) the first signature.
        let sig = if path == MANIFEST_SIG {
            walk.sig_seen = true;
            let body = read_body(entry, &path, limits.max_manifest_sig, limits, &mut scan.problems);
            Some(body.map_err(ended_by)?)
        } else {
            None
        };
        if !judge_packer_then_decode(opts, scan, sig.as_deref(), &bytes, streaming) {
            return Err(Ended::Stopped);
        }
        if walk.sig_seen {
            return Ok(());
        }
    }
    if path == MANIFEST {
        scan.problems.push(Problem::Duplicate { member: path });
        return Ok(());
    }
    if path == MANIFEST_SIG {
        if walk.sig_seen {
            scan.problems.push(Problem::Duplicate { member: path });
        } else {
            walk.sig_seen = true;
            scan.problems.push(Problem::PackerSignature {
                reason: "must be the second member".into(),
            });
        }
        return Ok(());
    }
    scan_member(entry, path, limits, scan)
}

/// How the walk ends when the manifest or the packer's signature cannot be read: the stream
/// broke, or the member was refused (for its size).
fn ended_by(stream_broke: bool) -> Ended {
    if stream_broke {
        Ended::Broken
    } else {
        Ended::Stopped
    }
}

/// The checks of a member's header: a safe name, a regular file, the header `pack` writes. Its
/// path when it passes; `Ok(None)` when it is refused (a listed member counts as present);
/// `Err` when the first member is refused: without a manifest nothing else can be checked.
fn check_header(header: &tar::Header, first: bool, scan: &mut Scan) -> Result<Option<String>, Ended> {
    let etype = header.entry_type();
    let (problem, path) = match check_path(&name_field(header)) {
        Err(p) => (p, None),
        Ok(path) if !etype.is_file() || etype == tar::EntryType::Continuous => (
            Problem::NotRegularFile {
                member: crate::text::escape_name(&path),
                kind: kind_name(etype),
            },
            Some(path),
        ),
        Ok(path) => match non_canonical_field(header, &path) {
            Some(field) => (
                Problem::NotCanonicalHeader {
                    member: path.clone(),
                    field: field.to_string(),
                },
                Some(path),
            ),
            None => return Ok(Some(path)),
        },
    };
    scan.problems.push(problem);
    if first {
        return Err(Ended::Stopped);
    }
    if let Some(path) = path {
        scan.mark_seen(&path);
    }
    Ok(None)
}

/// A release signature member (after the manifest was decoded): within the size limit, listed
/// in the manifest, seen once, of the size and sha256 listed; then queued for verification.
fn scan_member<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    path: String,
    limits: &Limits,
    scan: &mut Scan,
) -> Result<(), Ended> {
    let Some(manifest) = &scan.manifest else {
        return Err(Ended::Stopped); // refused already: no manifest to check against
    };
    let cap = if path.starts_with(SIGSTORE_DIR) {
        limits.max_sigstore_member
    } else {
        limits.max_member
    };
    if entry.size() > cap {
        scan.mark_seen(&path);
        scan.problems.push(Problem::TooLarge {
            member: path,
            limit: cap,
        });
        return Ok(());
    }
    let Some(i) = scan.claim(manifest.member_index(&path), path.clone()) else {
        return Ok(());
    };
    match read_body(entry, &path, cap, limits, &mut scan.problems) {
        Ok(body) => scan.check_member(i, path, body),
        Err(true) => return Err(Ended::Broken),
        Err(false) => {}
    }
    Ok(())
}

/// Each member's place in its release, by member index.
fn slots_of(m: &Manifest) -> Vec<Option<Slot>> {
    let mut slots = vec![None; m.members.len()];
    for (release, r) in m.releases.iter().enumerate() {
        for (position, sig) in r.signatures.iter().enumerate() {
            if let Some(i) = m.member_index(&sig.path) {
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
            ManifestError::Invalid { reason } => {
                // serde's messages quote unknown field names: escape them.
                format!(
                    "not a valid manifest: {}",
                    crate::text::escape_name(&crate::text::truncate_chars(&reason, 300))
                )
            }
            ManifestError::TooComplex { reason } => format!("too large to decode: {reason}"),
            ManifestError::UnknownFormat { got } => {
                format!(
                    "unknown format {:?} (this sigbundle reads {:?})",
                    crate::text::escape_name(&crate::text::truncate_chars(&got, 100)),
                    crate::manifest::FORMAT_V1
                )
            }
            ManifestError::Inconsistent { reason } => format!("inconsistent: {reason}"),
        },
    }
}

/// Judge the packer signature (or its absence) over the manifest's exact bytes, and only then
/// decode the manifest. Returns false when the bundle is refused here: reading stops, and no
/// release signature is looked at.
fn judge_packer_then_decode(
    opts: &CheckOptions,
    scan: &mut Scan,
    sig: Option<&[u8]>,
    manifest_bytes: &[u8],
    streaming: bool,
) -> bool {
    let refuse = |scan: &mut Scan, p: Problem| {
        scan.problems.push(p);
        false
    };
    let status = match (sig, &opts.packer_keys) {
        (None, _) if opts.allow_unsigned => PackerStatus::Unsigned,
        (None, _) => return refuse(scan, Problem::PackerSignatureMissing),
        (Some(_), None) if !opts.allow_unsigned => {
            // The caller must give keys or allow unsigned; the binaries enforce this as a
            // usage error before reading, so this is a defensive refusal.
            return refuse(
                scan,
                Problem::PackerSignature {
                    reason: "no trusted packer key was given to check it".into(),
                },
            );
        }
        (Some(_), None) => PackerStatus::NotChecked { claimed: String::new() },
        (Some(sig), Some(keys)) => match verify_packer_signatures(keys, sig, manifest_bytes, opts.now) {
            Ok(checks) => match signers_status(opts, keys, checks) {
                Ok(status) => status,
                Err(p) => return refuse(scan, p),
            },
            Err(v) => {
                let mut reason = v.to_string();
                if let PackerVerdict::Untrusted { .. } = v {
                    // Who the manifest says packed it (a claim, read within the same limits)
                    // tells the operator which key to ask for.
                    if let Ok(m) = Manifest::parse_bounded(manifest_bytes, &opts.limits.manifest) {
                        let claimed = crate::text::escape_name(&m.packer);
                        reason.push_str(&format!("; the manifest names packer {claimed} (unverified)"));
                    }
                }
                return refuse(scan, Problem::PackerSignature { reason });
            }
        },
    };
    scan.packer = Some(status);
    let m = match Manifest::parse_bounded(manifest_bytes, &opts.limits.manifest) {
        Ok(m) => m,
        Err(e) => return refuse(scan, manifest_problem(e)),
    };
    match_manifest_packer(scan, &m);
    scan.seen_members = vec![false; m.members.len()];
    if streaming {
        scan.slots = slots_of(&m);
    }
    scan.manifest = Some(m);
    true
}

/// The packer status of the trusted signers of a manifest (the first as the packer, the rest
/// as cosigners), or the refusal when fewer than `--require-signers` signed.
fn signers_status(
    opts: &CheckOptions,
    keys: &Keyring,
    checks: Vec<crate::packer_key::PackerCheck>,
) -> Result<PackerStatus, Problem> {
    if checks.len() < opts.require_signers {
        let signed: Vec<String> = checks.into_iter().map(|c| c.signer_cert).collect();
        let mut not_signed: Vec<String> = keys.fingerprints();
        not_signed.retain(|f| !signed.contains(f));
        not_signed.sort();
        not_signed.dedup();
        return Err(Problem::TooFewSigners {
            required: opts.require_signers,
            signed,
            not_signed,
        });
    }
    let mut checks = checks.into_iter();
    let first = checks.next().expect("at least one trusted signer");
    let mut warnings = first.warnings;
    let cosigners = checks
        .map(|c| {
            warnings.extend(c.warnings);
            Cosigner {
                fingerprint: c.signer_cert,
                signed_at: c.created,
            }
        })
        .collect();
    Ok(PackerStatus::Verified {
        fingerprint: first.signer_cert,
        signed_at: Some(first.created),
        warnings,
        cosigners,
    })
}

/// The packer the manifest names must be a trusted signer: made the first (the others are
/// cosigners), else a [`Problem::PackerMismatch`]; an unchecked status takes the claim.
fn match_manifest_packer(scan: &mut Scan, m: &Manifest) {
    match scan.packer.as_mut() {
        Some(PackerStatus::Verified {
            fingerprint,
            signed_at,
            cosigners,
            ..
        }) if *fingerprint != m.packer => match cosigners.iter().position(|c| c.fingerprint == m.packer) {
            Some(i) => {
                let packer = cosigners.remove(i);
                let first = Cosigner {
                    fingerprint: std::mem::replace(fingerprint, packer.fingerprint),
                    signed_at: signed_at.replace(packer.signed_at).unwrap_or_default(),
                };
                cosigners.insert(0, first);
            }
            None => {
                let p = Problem::PackerMismatch {
                    manifest: crate::text::escape_name(&m.packer),
                    signer: fingerprint.clone(),
                };
                scan.problems.push(p);
            }
        },
        Some(PackerStatus::NotChecked { claimed }) => *claimed = m.packer.clone(),
        _ => {}
    }
}

/// After the stream: missing members, the verification results, the verdict.
fn finish(
    opts: &CheckOptions,
    mut scan: Scan,
    done: Vec<Vec<Done>>,
    sha256: Option<String>,
    size: u64,
    compression: Compression,
) -> Result<VerifiedBundle, BundleError> {
    let Some(manifest) = scan.manifest.take() else {
        if scan.problems.is_empty() {
            scan.problems.push(Problem::NoManifest);
        }
        return Err(scan.rejected(sha256, None));
    };
    scan.missing_members(&manifest);
    let releases = checked_releases(opts, &manifest, done, &mut scan.problems);
    let sigstore = checked_sigstore(opts, &manifest, std::mem::take(&mut scan.sigstore), &mut scan.problems);
    // Every release must have reached here with every signature verified valid.
    if scan.problems.is_empty() {
        if let Some(r) = releases.iter().find(|r| r.signatures.is_empty()) {
            scan.problems.push(Problem::Manifest {
                reason: format!("inconsistent: release {} has no signature", r.digest),
            });
        }
    }
    let sha256 = match sha256 {
        Some(sha256) if scan.problems.is_empty() => sha256,
        sha256 => return Err(scan.rejected(sha256, Some(manifest))),
    };
    Ok(VerifiedBundle {
        sha256,
        size,
        compression,
        packer: scan.packer.unwrap_or(PackerStatus::Unsigned),
        manifest,
        releases,
        sigstore,
    })
}

/// The sigstore artifacts, judged again as a node judges them against this side's trust, from
/// the members read; and the OCI layout's `index.json` and `oci-layout`, which must be exactly
/// what the manifest's entries make. An artifact whose members are not all there (reported
/// already) is not judged.
fn checked_sigstore(
    opts: &CheckOptions,
    manifest: &Manifest,
    mut blobs: std::collections::BTreeMap<String, Vec<u8>>,
    problems: &mut Problems,
) -> Vec<CheckedSigstore> {
    if manifest.sigstore.is_empty() {
        return Vec::new();
    }
    let size_of = |d: &str| {
        manifest
            .member_index(&crate::manifest::sigstore_blob_path(d))
            .map_or(0, |i| manifest.members[i].size)
    };
    let want = [
        (SIGSTORE_INDEX, crate::carry::oci_index(&manifest.sigstore, size_of)),
        (SIGSTORE_LAYOUT, crate::carry::OCI_LAYOUT.to_vec()),
    ];
    for (path, bytes) in want {
        if let Some(got) = blobs.remove(path) {
            if got != bytes {
                problems.push(Problem::SigstoreLayout {
                    member: path.to_string(),
                    reason: "not the one the manifest's sigstore entries make".into(),
                });
            }
        }
    }
    let mut out = Vec::with_capacity(manifest.sigstore.len());
    for e in &manifest.sigstore {
        let get = |d: &str| blobs.get(&crate::manifest::sigstore_blob_path(d));
        let Some(sig) = get(&e.signature) else { continue };
        let mut artifact = Artifact {
            manifest: sig.clone(),
            media_type: e.media_type.clone(),
            blobs: std::collections::BTreeMap::new(),
        };
        let mut whole = true;
        for d in e.config.iter().chain(&e.layers) {
            match get(d) {
                Some(b) => {
                    artifact.blobs.insert(d.clone(), b.clone());
                }
                None => whole = false,
            }
        }
        if !whole {
            continue;
        }
        // An instance is pulled as its index: the identity rule sees the index's name, which
        // is the same repository.
        let report = crate::carry::judge(
            Some(&artifact),
            &std::collections::BTreeMap::new(),
            &e.image.repository,
            &e.image.digest,
            &e.image.digest,
            &opts.sigstore_trust,
        );
        if !report.verdict.is_valid() {
            problems.push(Problem::SigstoreSignature {
                repository: crate::text::escape_name(&e.image.repository),
                digest: e.image.digest.to_string(),
                verdict: report.verdict.name().to_string(),
                reason: crate::text::escape_name(&crate::text::truncate_chars(&report.reason, 300)),
            });
        }
        let listed = (
            crate::carry::config_digest(&artifact.manifest),
            crate::carry::layer_digests(&artifact.manifest),
        );
        if report.verdict.is_valid() && (listed.0 != e.config || listed.1 != e.layers) {
            problems.push(Problem::SigstoreLayout {
                member: crate::manifest::sigstore_blob_path(&e.signature),
                reason: "its config or layers are not the ones the manifest lists".into(),
            });
        }
        out.push(CheckedSigstore {
            entry: e.clone(),
            node: report,
            artifact,
        });
    }
    out
}

/// The manifest's releases with the verification results of their signatures, in manifest
/// order; a signature that does not verify, or a release whose valid signatures do not satisfy
/// the trust configuration, is a problem.
fn checked_releases(
    opts: &CheckOptions,
    manifest: &Manifest,
    done: Vec<Vec<Done>>,
    problems: &mut Problems,
) -> Vec<CheckedRelease> {
    let mut by_member: Vec<Option<(SignatureReport, Vec<u8>)>> = (0..manifest.members.len()).map(|_| None).collect();
    // Each worker's results as they are (one list of all would copy them at the peak).
    for d in done.into_iter().flatten() {
        by_member[d.member] = Some((d.report, d.bytes));
    }
    let mut releases = Vec::with_capacity(manifest.releases.len());
    for r in &manifest.releases {
        let mut sigs = Vec::with_capacity(r.signatures.len());
        for s in &r.signatures {
            let found = manifest.member_index(&s.path).and_then(|i| by_member[i].take());
            let Some((report, bytes)) = found else { continue };
            if !report.verdict.is_valid() {
                problems.push(Problem::ReleaseSignature {
                    member: s.path.clone(),
                    digest: r.digest.to_string(),
                    verdict: crate::text::escape_name(&report.verdict.to_string()),
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
            problems.push(Problem::UnsatisfiedTrust {
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
    releases
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
            assert!(check_path(bad).is_err(), "{}", crate::text::escape_bytes(bad));
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
