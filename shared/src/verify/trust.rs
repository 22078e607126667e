//! The release trust configuration, read as the cluster reads its own: one or more
//! `verifier-public-key-*` entries, each a keyring of which only the first ASCII-armoured block
//! counts. A release must have a valid signature for *every* entry; within an entry any key is
//! enough. The default is what OCP ships: one entry (`verifier-public-key-redhat`) holding Red Hat
//! release key 2 and beta key 2.
//!
//! `--keyring FILE` takes key files (armoured or binary), which together form one entry, and the
//! cluster's `release-verification` ConfigMap (YAML or JSON), whose entries stay separate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use openpgp::cert::CertParser;
use openpgp::parse::Parse;
use sequoia_openpgp as openpgp;

use super::gopgp::keys::{self, KeyRing};
use crate::keyring::Keyring;

/// The ConfigMap OCP payloads ship to the cluster-version operator (openshift/cluster-update-keys).
const DEFAULT_CONFIGMAP: &str = include_str!("../../keys/release-verification-configmap.rhel.yaml");

/// The prefix of the ConfigMap keys that hold keyrings.
pub const VERIFIER_PREFIX: &str = "verifier-public-key-";

/// The entry name given to key files passed with `--keyring`.
pub const FILES_ENTRY: &str = "--keyring";

/// Why the trust configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read keyring {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("keyring {source_name}: {reason}")]
    Unreadable { source_name: String, reason: String },
    #[error("keyring {source_name} holds no key the cluster can use (it skips unsupported and broken keys)")]
    NoUsableKey { source_name: String },
    #[error("{path} is a ConfigMap without any {VERIFIER_PREFIX}* entry")]
    NoEntries { path: PathBuf },
}

/// One `verifier-public-key-*` entry.
#[derive(Debug, Clone)]
pub struct TrustEntry {
    /// The ConfigMap key (or [`FILES_ENTRY`] for key files).
    pub name: String,
    /// Where it came from (file paths, `embedded:…`).
    pub sources: Vec<String>,
    /// The keyring as the cluster parses it.
    pub ring: KeyRing,
    /// The same keys as sequoia reads them, for `--strict`.
    pub certs: Keyring,
}

impl TrustEntry {
    /// Primary-key fingerprints (uppercase hex), in keyring order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.ring.entities.iter().map(|e| e.primary.fingerprint_hex()).collect()
    }
}

/// One `verifier-public-key-*` entry, described: a release needs a valid signature by one of
/// its keys, for every entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustedEntry {
    /// The ConfigMap key, or `--keyring` for key files.
    pub name: String,
    /// Where it came from: files, or `embedded:…` for the compiled-in default.
    pub sources: Vec<String>,
    pub keys: Vec<TrustedKey>,
}

/// One trusted release key, described.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustedKey {
    /// The primary key's fingerprint (uppercase hex).
    pub fingerprint: String,
    /// `RSA-4096`, `DSA`, `ECDSA`, …
    pub algorithm: String,
    /// When the key was made (RFC 3339).
    pub created: String,
    pub user_ids: Vec<String>,
    /// Its subkeys (fingerprints).
    pub subkeys: Vec<String>,
}

/// The algorithm of a key, with its size where that is what one asks about.
fn algorithm(m: &super::gopgp::packet::KeyMaterial) -> String {
    use super::gopgp::packet::KeyMaterial;
    match m {
        KeyMaterial::Rsa { n, .. } => {
            let bytes = n.bytes.iter().skip_while(|&&b| b == 0).count();
            let lead = n
                .bytes
                .iter()
                .find(|&&b| b != 0)
                .map_or(0, |b| 8 - b.leading_zeros() as usize);
            format!("RSA-{}", (bytes.saturating_sub(1)) * 8 + lead)
        }
        KeyMaterial::Dsa { .. } => "DSA".into(),
        KeyMaterial::ElGamal { .. } => "ElGamal".into(),
        KeyMaterial::Ecdsa { .. } => "ECDSA".into(),
        KeyMaterial::Ecdh { .. } => "ECDH".into(),
    }
}

/// The whole trust configuration.
#[derive(Debug, Clone)]
pub struct ReleaseTrust {
    pub entries: Vec<TrustEntry>,
    /// Things worth telling the user (a second armoured block the cluster would ignore).
    pub warnings: Vec<String>,
}

#[derive(serde::Deserialize)]
struct ConfigMapDoc {
    #[serde(default)]
    data: BTreeMap<String, String>,
}

/// The bytes of the first armoured block (what sequoia should read for `--strict`), or the
/// bytes as they are when they are not armoured.
fn first_block(bytes: &[u8]) -> &[u8] {
    let text = bytes;
    let Some(begin) = find(text, b"-----BEGIN ") else {
        return bytes;
    };
    match find(&text[begin..], b"-----END ") {
        Some(end) => {
            let rest = &text[begin + end..];
            let line_end = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
            &text[begin..begin + end + line_end]
        }
        None => &text[begin..],
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl ReleaseTrust {
    /// The default: the entry OCP ships (Red Hat release key 2 and beta key 2).
    pub fn default_release() -> ReleaseTrust {
        let mut t = ReleaseTrust {
            entries: Vec::new(),
            warnings: Vec::new(),
        };
        t.add_configmap(
            DEFAULT_CONFIGMAP.as_bytes(),
            "embedded:release-verification-configmap.rhel.yaml",
        )
        .expect("the embedded Red Hat ConfigMap reads");
        t
    }

    /// `--keyring` as given: the default when no file is named.
    pub fn from_args<P: AsRef<Path>>(paths: &[P]) -> Result<ReleaseTrust, TrustError> {
        if paths.is_empty() {
            Ok(ReleaseTrust::default_release())
        } else {
            ReleaseTrust::from_files(paths)
        }
    }

    /// Read `--keyring` files: key files form one entry, a ConfigMap contributes its entries.
    pub fn from_files<P: AsRef<Path>>(paths: &[P]) -> Result<ReleaseTrust, TrustError> {
        let mut t = ReleaseTrust {
            entries: Vec::new(),
            warnings: Vec::new(),
        };
        let mut files = TrustEntry {
            name: FILES_ENTRY.into(),
            sources: Vec::new(),
            ring: KeyRing::default(),
            certs: Keyring::empty(),
        };
        for path in paths {
            let path = path.as_ref();
            let bytes = std::fs::read(path).map_err(|source| TrustError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            let name = path.display().to_string();
            if looks_like_configmap(&bytes) {
                if t.add_configmap(&bytes, &name)? == 0 {
                    return Err(TrustError::NoEntries {
                        path: path.to_path_buf(),
                    });
                }
                continue;
            }
            let entry = t.read_entry(&bytes, FILES_ENTRY, &name)?;
            files.ring.entities.extend(entry.ring.entities);
            files.certs.extend(entry.certs);
            files.sources.push(name);
        }
        if !files.sources.is_empty() {
            t.entries.insert(0, files);
        }
        Ok(t)
    }

    /// Add the `verifier-public-key-*` entries of a ConfigMap (in key order); how many.
    fn add_configmap(&mut self, bytes: &[u8], source: &str) -> Result<usize, TrustError> {
        let text = String::from_utf8_lossy(bytes);
        // Duplicate keys occur in real ConfigMaps (Red Hat's repeats `namespace`); the last wins,
        // as in Kubernetes' own YAML reading.
        let options = serde_saphyr::options! {
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
        };
        let doc: ConfigMapDoc =
            serde_saphyr::from_str_with_options(&text, options).map_err(|e| TrustError::Unreadable {
                source_name: source.to_string(),
                reason: format!("not a ConfigMap: {e}"),
            })?;
        let mut n = 0;
        for (key, value) in &doc.data {
            if let Some(_suffix) = key.strip_prefix(VERIFIER_PREFIX) {
                let entry = self.read_entry(value.as_bytes(), key, &format!("{source} ({key})"))?;
                self.entries.push(entry);
                n += 1;
            }
        }
        Ok(n)
    }

    fn read_entry(&mut self, bytes: &[u8], name: &str, source: &str) -> Result<TrustEntry, TrustError> {
        let ring = keys::load(bytes).map_err(|e| TrustError::Unreadable {
            source_name: source.to_string(),
            reason: e.to_string(),
        })?;
        if ring.entities.is_empty() {
            return Err(TrustError::NoUsableKey {
                source_name: source.to_string(),
            });
        }
        if ring.has_secret() {
            self.warnings.push(format!(
                "keyring {source} holds secret keys; only their public parts are used (keep secret keys off this host{})",
                if ring.has_plain_secret() {
                    "; a message encrypted to one of them, which the cluster would decrypt, is refused"
                } else {
                    ""
                }
            ));
        }
        let blocks = keys::armored_blocks(bytes);
        if blocks > 1 {
            self.warnings.push(format!(
                "keyring {source} holds {blocks} armored blocks; the cluster reads only the first, and so does sigbundle"
            ));
        }
        let certs = Keyring::from_certs(
            CertParser::from_bytes(first_block(bytes))
                .map(|p| p.filter_map(Result::ok).collect())
                .unwrap_or_default(),
            source,
        );
        Ok(TrustEntry {
            name: name.to_string(),
            sources: vec![source.to_string()],
            ring,
            certs,
        })
    }

    /// Every entry and its keys, as `pack keys` and `unpack keys` list them.
    pub fn describe(&self) -> Vec<TrustedEntry> {
        self.entries
            .iter()
            .map(|e| TrustedEntry {
                name: e.name.clone(),
                sources: e.sources.clone(),
                keys: e
                    .ring
                    .entities
                    .iter()
                    .map(|k| TrustedKey {
                        fingerprint: k.primary.fingerprint_hex(),
                        algorithm: algorithm(&k.primary.material),
                        created: crate::verify::rfc3339(u64::from(k.primary.creation_time)),
                        user_ids: k
                            .identities
                            .iter()
                            .map(|i| String::from_utf8_lossy(&i.name).into_owned())
                            .collect(),
                        subkeys: k.subkeys.iter().map(|s| s.key.fingerprint_hex()).collect(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Every primary-key fingerprint, entry by entry.
    pub fn fingerprints(&self) -> Vec<String> {
        self.entries.iter().flat_map(TrustEntry::fingerprints).collect()
    }

    /// Where the keys came from.
    pub fn sources(&self) -> Vec<String> {
        self.entries.iter().flat_map(|e| e.sources.iter().cloned()).collect()
    }

    /// The entry names.
    pub fn entry_names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.name.clone()).collect()
    }

    /// The entries no valid report in `valid` satisfies: a release is valid only when this is
    /// empty. With one entry, any valid signature satisfies it.
    pub fn unsatisfied_by<'a>(&self, valid: impl Iterator<Item = &'a crate::verify::SignatureReport>) -> Vec<String> {
        let valid: Vec<_> = valid.filter(|r| r.verdict.is_valid()).collect();
        if self.entries.len() == 1 {
            return if valid.is_empty() {
                self.entry_names()
            } else {
                Vec::new()
            };
        }
        self.unsatisfied(valid.iter().flat_map(|r| r.satisfies.iter().map(String::as_str)))
    }

    /// The entries none of `satisfied` names: a release is valid only when this is empty.
    pub fn unsatisfied<'a>(&self, satisfied: impl IntoIterator<Item = &'a str> + Clone) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| !satisfied.clone().into_iter().any(|s| s == e.name))
            .map(|e| e.name.clone())
            .collect()
    }
}

/// A ConfigMap rather than a key file: text that is neither armour nor binary packets and
/// mentions a verifier entry.
fn looks_like_configmap(bytes: &[u8]) -> bool {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => false,
        Some(&b) if b & 0x80 != 0 => false,
        Some(_) => {
            let head = &bytes[..bytes.len().min(64)];
            !head.trim_ascii_start().starts_with(b"-----BEGIN ") && find(bytes, VERIFIER_PREFIX.as_bytes()).is_some()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_red_hats_one_entry_with_two_keys() {
        let t = ReleaseTrust::default_release();
        assert_eq!(t.entry_names(), ["verifier-public-key-redhat"]);
        assert_eq!(
            t.fingerprints(),
            [
                "567E347AD0044ADE55BA8A5F199E2F91FD431D51",
                "B08B659EE86AF623BC90E8DB938A80CAF21541EB"
            ]
        );
        assert_eq!(t.entries[0].certs.certs().len(), 2);
        assert!(t.warnings.is_empty());
    }

    #[test]
    fn key_files_form_one_entry_and_configmap_entries_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        let fixture = |n: &str| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/keys")
                .join(n)
        };
        let t =
            ReleaseTrust::from_files(&[fixture("redhat-release-key-2.asc"), fixture("redhat-beta-key-2.asc")]).unwrap();
        assert_eq!(t.entry_names(), [FILES_ENTRY]);
        assert_eq!(t.fingerprints().len(), 2);
        let cm = dir.path().join("cm.yaml");
        let key = |n: &str| std::fs::read_to_string(fixture(n)).unwrap().replace('\n', "\n    ");
        std::fs::write(
            &cm,
            format!(
                "apiVersion: v1\nkind: ConfigMap\ndata:\n  verifier-public-key-a: |\n    {}\n  verifier-public-key-b: |\n    {}\n  store-x: https://example.com\n",
                key("redhat-release-key-2.asc"),
                key("redhat-beta-key-2.asc")
            ),
        )
        .unwrap();
        let t = ReleaseTrust::from_files(&[&cm]).unwrap();
        assert_eq!(t.entry_names(), ["verifier-public-key-a", "verifier-public-key-b"]);
        assert_eq!(t.unsatisfied(["verifier-public-key-b"]), ["verifier-public-key-a"]);
        let empty = dir.path().join("empty.yaml");
        std::fs::write(&empty, "data:\n  store-x: https://x # verifier-public-key-\n").unwrap();
        assert!(matches!(
            ReleaseTrust::from_files(&[&empty]),
            Err(TrustError::NoEntries { .. })
        ));
    }
}
