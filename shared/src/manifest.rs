//! The bundle manifest (`manifest.json`, format `sigbundle/v1`): what a bundle holds, in the
//! layout `docs/bundle-format.md` specifies.

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

/// The format string of this version.
pub const FORMAT_V1: &str = "sigbundle/v1";

/// The `packer` value of a bundle with no packer signature.
pub const UNSIGNED: &str = "unsigned";

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest.json is not a valid sigbundle manifest: {reason}")]
    Invalid { reason: String },
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

    /// Parse and check a manifest: strict JSON, known format, internal consistency.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
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
        m.check_consistent()?;
        m.releases.shrink_to_fit();
        m.members.shrink_to_fit();
        Ok(m)
    }

    fn check_consistent(&self) -> Result<(), ManifestError> {
        let bad = |reason: String| Err(ManifestError::Inconsistent { reason });
        if let Some(w) = self.members.windows(2).find(|w| w[0].path >= w[1].path) {
            return bad(format!(
                "members are not sorted by path, or listed twice, at {:?}",
                w[1].path
            ));
        }
        let mut used = vec![false; self.members.len()];
        let mut digests = std::collections::BTreeSet::new();
        for r in &self.releases {
            if !digests.insert(r.digest) {
                return bad(format!("release {} is listed twice", r.digest));
            }
            for (i, s) in r.signatures.iter().enumerate() {
                let want = signature_path(&r.digest, i + 1);
                if s.path != want {
                    return bad(format!(
                        "signature {:?} of release {} should be at {want:?}",
                        s.path, r.digest
                    ));
                }
                match self.members.binary_search_by(|m| m.path.as_str().cmp(&s.path)) {
                    Ok(k) if self.members[k].size == s.size && self.members[k].sha256 == s.sha256 => used[k] = true,
                    Ok(_) => return bad(format!("{:?}: size or sha256 differs from its member entry", s.path)),
                    Err(_) => return bad(format!("{:?} is not in the member list", s.path)),
                }
            }
        }
        for m in &self.missing {
            if digests.contains(&m.digest) {
                return bad(format!("release {} is both packed and missing", m.digest));
            }
        }
        if let Some(k) = used.iter().position(|u| !u) {
            return bad(format!("member {:?} belongs to no release", self.members[k].path));
        }
        Ok(())
    }
}
