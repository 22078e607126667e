//! What earlier bundles carried, from their receipts or the bundles themselves (read for their
//! manifest only), so `pack --exclude-carried` packs only what is new.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::digest::Digest;

/// Why an `--exclude-carried` file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CarriedError {
    #[error("--exclude-carried {path}: cannot read it: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("--exclude-carried {path}: not a pack receipt: {reason}")]
    Receipt { path: PathBuf, reason: String },
    #[error("--exclude-carried {path}: not an inventory sigbundle can read: {reason}")]
    Inventory { path: PathBuf, reason: String },
    #[error("--exclude-carried {path}: not a bundle sigbundle can read: {reason}")]
    Bundle { path: PathBuf, reason: String },
}

/// What was carried before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    /// The bundles reduced against, by sha256, in the order given.
    pub bundles: Vec<String>,
    /// Per release: `None` carried whole (a receipt of a pack before receipts listed
    /// signatures), else the sha256 of each signature carried.
    pub releases: BTreeMap<Digest, Option<BTreeSet<String>>>,
}

impl Carried {
    /// Read each file: a receipt (`FILE.receipt.json`, JSON) or a bundle (its manifest; nothing
    /// in it is trusted for more than "this was carried": what is left out is only what it
    /// lists).
    pub fn read(paths: &[PathBuf]) -> Result<Carried, CarriedError> {
        let mut c = Carried::default();
        for p in paths {
            let mut head = [0u8; 1];
            let n = std::fs::File::open(p)
                .and_then(|mut f| f.read(&mut head))
                .map_err(|source| CarriedError::Read {
                    path: p.clone(),
                    source,
                })?;
            if n == 1 && head[0] == b'{' {
                // A receipt or an inventory: read once, told apart by its `kind`.
                let bytes = read_bounded(p).map_err(|source| CarriedError::Read {
                    path: p.clone(),
                    source,
                })?;
                if is_inventory(&bytes) {
                    c.add_inventory(p, &bytes)?;
                } else {
                    c.add_receipt(p, &bytes)?;
                }
            } else {
                c.add_bundle(p)?;
            }
        }
        Ok(c)
    }

    fn add_receipt(&mut self, path: &Path, bytes: &[u8]) -> Result<(), CarriedError> {
        let r: crate::audit::Receipt = serde_json::from_slice(bytes).map_err(|e| CarriedError::Receipt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let bad = |reason: String| CarriedError::Receipt {
            path: path.to_path_buf(),
            reason,
        };
        for d in &r.releases {
            let digest = Digest::parse(d).map_err(|e| bad(e.to_string()))?;
            match r.signatures.get(d) {
                Some(sigs) => self.add(digest, sigs.iter().cloned()),
                None => {
                    self.releases.insert(digest, None);
                }
            }
        }
        self.bundles.push(r.bundle_sha256);
        Ok(())
    }

    fn add_inventory(&mut self, path: &Path, bytes: &[u8]) -> Result<(), CarriedError> {
        let bad = |reason: String| CarriedError::Inventory {
            path: path.to_path_buf(),
            reason,
        };
        let inv: crate::audit::Inventory = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        for (d, sigs) in &inv.releases {
            let digest = Digest::parse(d).map_err(|e| bad(e.to_string()))?;
            self.add(digest, sigs.iter().cloned());
        }
        self.bundles.push(crate::digest::sha256_hex(bytes));
        Ok(())
    }

    fn add_bundle(&mut self, path: &Path) -> Result<(), CarriedError> {
        let bad = |reason: String| CarriedError::Bundle {
            path: path.to_path_buf(),
            reason,
        };
        let claims = crate::unpack::read_claims(path).map_err(|e| bad(crate::text::error_chain(&e)))?;
        for r in &claims.manifest.releases {
            self.add(r.digest, r.signatures.iter().map(|s| s.sha256.clone()));
        }
        let sha256 = sha256_of_file(path).map_err(|source| CarriedError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.bundles.push(sha256);
        Ok(())
    }

    fn add(&mut self, digest: Digest, sigs: impl Iterator<Item = String>) {
        // A release carried whole stays whole.
        if let Some(set) = self.releases.entry(digest).or_insert_with(|| Some(BTreeSet::new())) {
            set.extend(sigs);
        }
    }

    /// Whether nothing was carried.
    pub fn is_empty(&self) -> bool {
        self.bundles.is_empty()
    }

    /// Whether the release was carried whole (no signature list to compare against).
    pub fn whole(&self, digest: &Digest) -> bool {
        matches!(self.releases.get(digest), Some(None))
    }

    /// The signatures of the release carried before (empty when none).
    pub fn signatures(&self, digest: &Digest) -> Option<&BTreeSet<String>> {
        self.releases.get(digest).and_then(Option::as_ref)
    }
}

/// The largest receipt or inventory read (an inventory of 100,000 releases is about 15 MB).
const MAX_JSON_BYTES: u64 = 64 << 20;

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut b = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut b)?;
    if b.len() as u64 > MAX_JSON_BYTES {
        return Err(std::io::Error::other(format!("larger than {MAX_JSON_BYTES} bytes")));
    }
    Ok(b)
}

/// Whether JSON says it is an inventory (`"kind": "sigbundle-inventory"`).
fn is_inventory(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(default)]
        kind: Option<String>,
    }
    serde_json::from_slice::<Kind>(bytes)
        .ok()
        .and_then(|k| k.kind)
        .is_some_and(|k| k == crate::audit::INVENTORY_KIND)
}

fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest as _, Sha256};
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
