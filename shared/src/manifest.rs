//! The bundle manifest (`manifest.json`, format `sigbundle/v1`): what a bundle holds, in the
//! layout `docs/bundle-format.md` specifies.

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::verify::MAX_SIGNATURES;

/// The format string of this version.
/// The version of this tool, recorded in every bundle manifest (and audit record).
pub const TOOL_VERSION: &str = concat!("sigbundle ", env!("CARGO_PKG_VERSION"));

pub const FORMAT_V1: &str = "sigbundle/v1";

/// The `packer` value of a bundle with no packer signature.
pub const UNSIGNED: &str = "unsigned";

/// The most names one digest may have been asked as.
pub const MAX_REQUESTED: usize = 256;

/// Bounds on what decoding a manifest may build, checked on its bytes before anything is
/// decoded (a few KiB of compressed JSON can hold tens of millions of empty strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestLimits {
    /// JSON values in all (strings, numbers, literals, objects, lists; field names excluded).
    pub max_values: u64,
    /// Nesting of objects and lists (the format needs 5).
    pub max_depth: usize,
    /// An upper bound of the memory the decoded manifest takes, in bytes.
    pub max_memory: u64,
    /// Entries of `members` (and so signatures in all).
    pub max_members: usize,
}

impl Default for ManifestLimits {
    fn default() -> Self {
        ManifestLimits {
            max_values: 2_000_000,
            max_depth: 8,
            max_memory: 128 << 20,
            max_members: 100_000,
        }
    }
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest.json is not a valid sigbundle manifest: {reason}")]
    Invalid { reason: String },
    #[error("manifest.json is too large to decode: {reason}")]
    TooComplex { reason: String },
    #[error("manifest.json has format {got:?}; this sigbundle reads {FORMAT_V1:?} only")]
    UnknownFormat { got: String },
    #[error("manifest.json is inconsistent: {reason}")]
    Inconsistent { reason: String },
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub tool: String,
    pub created: String,
    pub packer: String,
    pub releases: Vec<Release>,
    #[serde(default)]
    pub missing: Vec<Missing>,
    pub members: Vec<Member>,
    /// The bundles this one was reduced against (`pack --exclude-carried`), by sha256: what
    /// they carried is left out. Absent in a bundle packed whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reduced_against: Vec<String>,
}

/// One release and its signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    pub digest: Digest,
    #[serde(deserialize_with = "shrunk")]
    pub requested: Vec<String>,
    pub store: String,
    #[serde(deserialize_with = "shrunk")]
    pub signatures: Vec<SignatureEntry>,
    /// Requests for more signatures that failed at the store after these made the release
    /// complete (the cluster would not have asked); each names the store, the file and the error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
}

/// A list decoded without its slack: the decoder grows lists by doubling (a release's two
/// signatures get room for four), which was a third of a large manifest's memory.
fn shrunk<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    let mut v = Vec::<T>::deserialize(d)?;
    v.shrink_to_fit();
    Ok(v)
}

/// One signature of a release, with its pack-time facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub verdict: String,
    pub signer: Option<String>,
    pub signer_cert: Option<String>,
    pub created: Option<u64>,
    pub identity: Option<String>,
    pub creator: Option<String>,
    /// The trust entries (`verifier-public-key-*`) this signature satisfies, when the trust
    /// configuration has more than one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub satisfies: Vec<String>,
}

/// A digest that was asked for but had no valid signature (`--allow-missing`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Missing {
    pub digest: Digest,
    pub requested: Vec<String>,
    pub reason: String,
}

/// A member of the archive (other than the manifest and its signature).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// The path of signature `n` (1-based) of `digest` inside a bundle.
pub fn signature_path(digest: &Digest, n: usize) -> String {
    format!("signatures/{}", digest.signature_file(n))
}

impl Manifest {
    /// Serialize as the bundle stores it: pretty JSON with a trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a manifest always serializes");
        v.push(b'\n');
        v
    }

    /// Parse and check a manifest: strict JSON, known format, internal consistency, within
    /// the default [`ManifestLimits`].
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        Manifest::parse_bounded(bytes, &ManifestLimits::default())
    }

    /// [`Manifest::parse`] with explicit limits. The bytes are measured before anything is
    /// decoded: a manifest that would build more than the limits allow is refused unread.
    pub fn parse_bounded(bytes: &[u8], limits: &ManifestLimits) -> Result<Manifest, ManifestError> {
        measure(bytes, limits)?;
        // Look at the format first (skipping everything else), so a future format is named as
        // such rather than as a list of unknown fields.
        #[derive(Deserialize)]
        struct FormatOnly {
            #[serde(default)]
            format: Option<String>,
        }
        let probe: FormatOnly =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Invalid { reason: e.to_string() })?;
        match probe.format.as_deref() {
            Some(FORMAT_V1) => {}
            Some(other) => return Err(ManifestError::UnknownFormat { got: other.to_string() }),
            None => {
                return Err(ManifestError::Invalid {
                    reason: "no \"format\" field".into(),
                })
            }
        }
        let mut m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Invalid { reason: e.to_string() })?;
        m.check_consistent(limits)?;
        m.releases.shrink_to_fit();
        m.members.shrink_to_fit();
        Ok(m)
    }

    /// The index in `members` of the member at `path` (the list is sorted by path).
    pub fn member_index(&self, path: &str) -> Option<usize> {
        self.members.binary_search_by(|m| m.path.as_str().cmp(path)).ok()
    }

    /// Every rule of the format the serde types cannot express, in this order: the header
    /// fields, the names asked for, the member list, the releases and their signatures, the
    /// missing releases, and no member left over.
    fn check_consistent(&self, limits: &ManifestLimits) -> Result<(), ManifestError> {
        self.check_header(limits)?;
        self.check_requested()?;
        self.check_members()?;
        let mut used = vec![false; self.members.len()];
        let mut digests = std::collections::BTreeSet::new();
        for r in &self.releases {
            if !digests.insert(r.digest) {
                return inconsistent(format!("release {} is listed twice", r.digest));
            }
            self.check_release(r, &mut used)?;
        }
        for m in &self.missing {
            if digests.contains(&m.digest) {
                return inconsistent(format!("release {} is both packed and missing", m.digest));
            }
        }
        if let Some(k) = used.iter().position(|u| !u) {
            return inconsistent(format!("member {:?} belongs to no release", self.members[k].path));
        }
        Ok(())
    }

    /// `created`, `packer` and the number of members.
    fn check_header(&self, limits: &ManifestLimits) -> Result<(), ManifestError> {
        if !is_rfc3339_seconds(&self.created) {
            return inconsistent(format!(
                "created {:?} is not an RFC 3339 UTC time in whole seconds",
                show(&self.created)
            ));
        }
        if self.packer != UNSIGNED && !is_fingerprint(&self.packer) {
            return inconsistent(format!(
                "packer {:?} is neither a key fingerprint nor {UNSIGNED:?}",
                show(&self.packer)
            ));
        }
        if self.members.len() > limits.max_members {
            return inconsistent(format!(
                "{} members listed, over the limit of {}",
                self.members.len(),
                limits.max_members
            ));
        }
        Ok(())
    }

    /// The names each release (packed or missing) was asked for: not too many, each one a
    /// name someone can ask for.
    fn check_requested(&self) -> Result<(), ManifestError> {
        for (digest, requested) in self
            .releases
            .iter()
            .map(|r| (r.digest, &r.requested))
            .chain(self.missing.iter().map(|m| (m.digest, &m.requested)))
        {
            if requested.len() > MAX_REQUESTED {
                return inconsistent(format!(
                    "release {digest} was asked for under {} names, over the limit of {MAX_REQUESTED}",
                    requested.len()
                ));
            }
            if let Some(n) = requested
                .iter()
                .find(|n| n.is_empty() || n.len() > 1024 || n.chars().any(crate::text::is_unsafe_char))
            {
                return inconsistent(format!(
                    "release {digest} names {:?}, which no one can ask for",
                    show(n)
                ));
            }
        }
        Ok(())
    }

    /// Each member has a sha256; the list is sorted by path, each path once.
    fn check_members(&self) -> Result<(), ManifestError> {
        for m in &self.members {
            if !is_sha256_hex(&m.sha256) {
                return inconsistent(format!("member {:?} has no valid sha256", show(&m.path)));
            }
        }
        if let Some(w) = self.members.windows(2).find(|w| w[0].path >= w[1].path) {
            return inconsistent(format!(
                "members are not sorted by path, or listed twice, at {:?}",
                w[1].path
            ));
        }
        Ok(())
    }

    /// One release: one to [`MAX_SIGNATURES`] signatures, each valid, at its path, and the
    /// member it names (marked in `used`).
    fn check_release(&self, r: &Release, used: &mut [bool]) -> Result<(), ManifestError> {
        if r.signatures.is_empty() {
            return inconsistent(format!(
                "release {} lists no signature (a release without one belongs in \"missing\")",
                r.digest
            ));
        }
        if r.signatures.len() > MAX_SIGNATURES {
            return inconsistent(format!(
                "release {} lists {} signatures; the cluster reads at most {MAX_SIGNATURES}",
                r.digest,
                r.signatures.len()
            ));
        }
        for (i, s) in r.signatures.iter().enumerate() {
            if s.verdict != "valid" {
                return inconsistent(format!(
                    "signature {:?} has verdict {:?}; a bundle holds valid signatures only",
                    show(&s.path),
                    show(&s.verdict)
                ));
            }
            if let Some(f) = [&s.signer, &s.signer_cert]
                .into_iter()
                .flatten()
                .find(|f| !is_fingerprint(f))
            {
                return inconsistent(format!(
                    "signature {:?} names signer {:?}, which is not a key fingerprint",
                    show(&s.path),
                    show(f)
                ));
            }
            let want = signature_path(&r.digest, i + 1);
            if s.path != want {
                return inconsistent(format!(
                    "signature {:?} of release {} should be at {want:?}",
                    s.path, r.digest
                ));
            }
            match self.member_index(&s.path) {
                Some(k) if self.members[k].size == s.size && self.members[k].sha256 == s.sha256 => used[k] = true,
                Some(_) => return inconsistent(format!("{:?}: size or sha256 differs from its member entry", s.path)),
                None => return inconsistent(format!("{:?} is not in the member list", s.path)),
            }
        }
        Ok(())
    }
}

fn inconsistent(reason: String) -> Result<(), ManifestError> {
    Err(ManifestError::Inconsistent { reason })
}

/// A value from the manifest as an error message shows it: escaped, at most 100 characters.
fn show(s: &str) -> String {
    crate::text::escape_name(&crate::text::truncate_chars(s, 100))
}

/// Whether `s` is an OpenPGP fingerprint as sigbundle writes it: 40 (v4) or 64 (v6) uppercase
/// hex digits.
fn is_fingerprint(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// Whether `s` is a sha256 as sigbundle writes it: 64 lowercase hex digits.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Whether `s` is `YYYY-MM-DDTHH:MM:SSZ`, a real time.
fn is_rfc3339_seconds(s: &str) -> bool {
    s.len() == 20 && s.ends_with('Z') && humantime::parse_rfc3339(s).is_ok()
}

/// What one value costs once decoded, beyond its own bytes: a string, number or list is held
/// in a 24-byte slot of its parent (a decoded list may hold up to twice the room it needs); an
/// object in one of about the size of the largest struct of the format.
const SLOT: u64 = 2 * 24;
const OBJECT: u64 = 2 * std::mem::size_of::<SignatureEntry>() as u64;

/// The heap block a string of `len` bytes takes (glibc's allocator: 16-byte granules, a
/// 16-byte minimum and an 8-byte header; an empty string takes none).
fn string_heap(len: u64) -> u64 {
    if len == 0 {
        0
    } else {
        (len + 8).div_ceil(16).max(2) * 16
    }
}

/// Count what decoding `bytes` would build, without decoding it, and refuse a manifest over
/// the limits. Malformed JSON is left to the decoder to name.
fn measure(bytes: &[u8], limits: &ManifestLimits) -> Result<(), ManifestError> {
    let too = |reason: String| Err(ManifestError::TooComplex { reason });
    let (mut values, mut memory, mut depth) = (0u64, 0u64, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let len = (j.min(bytes.len()) - start) as u64;
                i = j + 1;
                let mut k = i;
                while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                    k += 1;
                }
                if bytes.get(k) == Some(&b':') {
                    continue; // a field name: matched, never kept
                }
                values += 1;
                memory += SLOT + string_heap(len);
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > limits.max_depth {
                    return too(format!("nested deeper than {} levels", limits.max_depth));
                }
                values += 1;
                memory += if bytes[i] == b'{' { OBJECT } else { SLOT };
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
                values += 1;
                memory += SLOT;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b"+-.".contains(&bytes[i])) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        if values > limits.max_values {
            return too(format!("more than {} JSON values", limits.max_values));
        }
    }
    if memory > limits.max_memory {
        return too(format!(
            "decoded it would take about {} MiB, over the limit of {} MiB",
            memory >> 20,
            limits.max_memory >> 20
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_values: u64, max_depth: usize, max_memory: u64) -> ManifestLimits {
        ManifestLimits {
            max_values,
            max_depth,
            max_memory,
            max_members: 100,
        }
    }

    #[test]
    fn the_shape_is_measured_before_decoding() {
        let l = ManifestLimits::default();
        assert!(matches!(
            measure(&[b'['; 9], &l),
            Err(ManifestError::TooComplex { reason }) if reason.contains("nested deeper than 8")
        ));
        // Field names cost nothing; values do; quotes escaped inside a string are not its end.
        let json = br#"{"a": "x\"y", "b": [1, true, null, "", {"c": []}]}"#;
        measure(json, &limits(9, 8, u64::MAX)).unwrap();
        assert!(measure(json, &limits(8, 8, u64::MAX)).is_err());
        // Empty strings are the cheapest values there are, and still counted.
        let many = format!("[{}\"\"]", "\"\",".repeat(1000));
        let Err(ManifestError::TooComplex { reason }) = measure(many.as_bytes(), &limits(1000, 8, u64::MAX)) else {
            panic!("1,001 values passed a limit of 1,000")
        };
        assert!(reason.contains("more than 1000 JSON values"), "{reason}");
        let Err(ManifestError::TooComplex { reason }) = measure(many.as_bytes(), &limits(10_000, 8, 1 << 10)) else {
            panic!("48 KiB passed a limit of 1 KiB")
        };
        assert!(reason.contains("MiB"), "{reason}");
    }
}
