//! Release digests (`sha256:<hex>`) and image pullspecs (`registry/repo[:tag][@sha256:…]`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// Why a digest or pullspec could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("invalid digest {input:?}: {reason}")]
    InvalidDigest { input: String, reason: &'static str },
    #[error("invalid pullspec {input:?}: {reason}")]
    InvalidPullspec { input: String, reason: &'static str },
    #[error("invalid digest {input:?}: {reason}; did you mean {suggestion}?")]
    DidYouMean {
        input: String,
        reason: &'static str,
        suggestion: String,
    },
}

/// A release digest: `sha256:` followed by exactly 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Parse `sha256:<64 lowercase hex>` strictly. Digests are compared as strings by
    /// registries and stores, so a bare or uppercase one is refused, with the digest meant.
    pub fn parse(input: &str) -> Result<Digest, DigestError> {
        if let Some(e) = Self::near_miss(input) {
            return Err(e);
        }
        let err = |reason| DigestError::InvalidDigest {
            input: input.to_string(),
            reason,
        };
        let hex = input
            .strip_prefix("sha256:")
            .ok_or_else(|| err("must start with \"sha256:\""))?;
        Self::from_hex(hex).map_err(err)
    }

    /// A bare 64-hex digest (`sha256:` left off) or an uppercase one, with what was meant.
    pub fn near_miss(input: &str) -> Option<DigestError> {
        let (hex, reason) = match input.strip_prefix("sha256:") {
            Some(hex) if hex.bytes().any(|b| b.is_ascii_uppercase()) => (hex, "hex digits must be lowercase"),
            Some(_) => return None,
            None => (input, "must start with \"sha256:\""),
        };
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| DigestError::DidYouMean {
            input: input.to_string(),
            reason,
            suggestion: format!("sha256:{}", hex.to_ascii_lowercase()),
        })
    }

    /// Parse the 64 lowercase hex digits alone.
    pub fn from_hex(hex: &str) -> Result<Digest, &'static str> {
        if hex.len() != 64 {
            return Err("need exactly 64 hex digits after \"sha256:\"");
        }
        if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err("hex digits must be 0-9 or lowercase a-f");
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex, &mut out).map_err(|_| "not hex")?;
        Ok(Digest(out))
    }

    /// The digest of some bytes.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// From a finished SHA-256 state.
    pub fn from_bytes(bytes: [u8; 32]) -> Digest {
        Digest(bytes)
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 16 hex digits, as `oc` uses in file names.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }

    /// The folder name of this digest in a signature store: `sha256=<hex>`.
    pub fn store_dir(&self) -> String {
        format!("sha256={}", self.hex())
    }

    /// Signature `n` (1-based) of this digest, relative to a store: `sha256=<hex>/signature-<n>`.
    pub fn signature_file(&self, n: usize) -> String {
        format!("{}/signature-{n}", self.store_dir())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An image pullspec: `registry/repository[:tag][@sha256:<hex>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pullspec {
    /// Registry host (and port), e.g. `quay.io` or `127.0.0.1:5000`.
    pub registry: String,
    /// Repository path, e.g. `openshift-release-dev/ocp-release`.
    pub repository: String,
    /// Tag, e.g. `4.15.0-x86_64`.
    pub tag: Option<String>,
    /// Digest after `@`.
    pub digest: Option<Digest>,
}

impl Pullspec {
    /// Parse a pullspec. The first path component is the registry; it must look like a host
    /// (contain `.` or `:`, or be `localhost`), as container tools require for a fully
    /// qualified name. At least a tag or a digest is required.
    pub fn parse(input: &str) -> Result<Pullspec, DigestError> {
        let err = |reason| DigestError::InvalidPullspec {
            input: input.to_string(),
            reason,
        };
        if input.is_empty() || input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("empty, or contains white space"));
        }
        let (name, digest) = match input.split_once('@') {
            Some((name, d)) => {
                let digest = Digest::parse(d).map_err(|e| match e {
                    DigestError::DidYouMean { reason, suggestion, .. } => DigestError::DidYouMean {
                        input: input.to_string(),
                        reason,
                        suggestion: format!("{name}@{suggestion}"),
                    },
                    _ => err("bad digest after '@'"),
                })?;
                (name, Some(digest))
            }
            None => (input, None),
        };
        let (registry, rest) = name.split_once('/').ok_or_else(|| err("need registry/repository"))?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(err("the first component must be a registry host"));
        }
        // A tag follows the last ':' after the last '/'.
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_string())),
            _ => (rest, None),
        };
        if repository.is_empty()
            || repository.split('/').any(|c| {
                c.is_empty()
                    || !c
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            })
        {
            return Err(err("repository must be lowercase path components"));
        }
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !t.starts_with(['.', '-']);
            if !ok {
                return Err(err("bad tag"));
            }
        }
        if tag.is_none() && digest.is_none() {
            return Err(err("need a :tag or an @sha256: digest"));
        }
        Ok(Pullspec {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }
}

impl fmt::Display for Pullspec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The sha256 of some bytes, as lowercase hex (how the manifest, receipts and audit records
/// name file contents).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363";

    #[test]
    fn parses_strict_digests() {
        let d = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        assert_eq!(d.to_string(), format!("sha256:{HEX}"));
        assert_eq!(d.short(), "0da6316466d60a3a");
        assert_eq!(d.store_dir(), format!("sha256={HEX}"));
        for bad in [
            HEX.to_string(),
            format!("sha256:{}", HEX.to_uppercase()),
            format!("sha256:{}", HEX.get(1..).unwrap()),
            format!("sha256:{HEX}0"),
            format!("sha512:{HEX}"),
            format!("sha256:{}g", HEX.get(1..).unwrap()),
            format!(" sha256:{HEX}"),
        ] {
            let e = Digest::parse(&bad).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn parses_pullspecs() {
        let p = Pullspec::parse("quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64").unwrap();
        assert_eq!(p.registry, "quay.io");
        assert_eq!(p.repository, "openshift-release-dev/ocp-release");
        assert_eq!(p.tag.as_deref(), Some("4.15.0-x86_64"));
        assert_eq!(p.digest, None);
        let s = format!("127.0.0.1:5000/ocp/release@sha256:{HEX}");
        let p = Pullspec::parse(&s).unwrap();
        assert_eq!(p.registry, "127.0.0.1:5000");
        assert_eq!(p.tag, None);
        assert_eq!(p.to_string(), s);
        let s = format!("quay.io/a/b:4.1@sha256:{HEX}");
        assert_eq!(Pullspec::parse(&s).unwrap().to_string(), s);
        for bad in [
            "quay.io/a/b",
            "ocp-release:4.15.0",
            "quay.io/A/b:1",
            "quay.io/a/b:",
            "quay.io/a/b@sha256:abc",
            "quay.io//b:1",
        ] {
            assert!(Pullspec::parse(bad).is_err(), "{bad}");
        }
    }
}
