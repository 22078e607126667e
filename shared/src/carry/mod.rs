//! Sigstore `.sig` artifacts carried across the air gap, byte for byte: what one is
//! ([`Artifact`]), the node's verdict on it (judged by [`crate::sigstore`], never here), and the
//! OCI image layout they are kept in — in a bundle's `sigstore/` folder and by
//! `unpack emit --oci-dir`. The pack side is [`collect`] (with the payload's component list,
//! [`components`]); the mirror side is [`push`].

pub mod collect;
pub mod components;
pub mod push;

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::manifest::{sigstore_blob_path, SigstoreEntry, SIGSTORE_INDEX, SIGSTORE_LAYOUT};
use crate::sigstore::{verify, FetchError, Image, Report, SigManifest, Trust, Verdict};

/// What containers/image asks for when it reads a `.sig` tag
/// (`manifest.DefaultRequestedManifestMIMETypes`).
pub const SIG_MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.v1+prettyjws, \
application/vnd.docker.distribution.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.index.v1+json";

/// The OCI layout marker's content.
pub const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
/// The annotation that names a manifest in an OCI layout's index.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation that names the repository a `.sig` belongs to in the index.
pub const REPOSITORY_ANNOTATION: &str = "io.sigbundle.repository";

/// A `.sig` artifact's bytes, exactly as the registry served them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Artifact {
    /// The manifest stored under `sha256-<hex>.sig`.
    pub manifest: Vec<u8>,
    /// Its Content-Type as served (what a push sends back).
    pub media_type: String,
    /// The config and layer blobs, by digest (`sha256:<hex>`).
    pub blobs: BTreeMap<String, Vec<u8>>,
}

impl Artifact {
    /// `sha256:<hex>` of the manifest.
    pub fn digest(&self) -> String {
        sha256_digest(&self.manifest)
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A verdict built here rather than by [`verify`] (an input that cannot be judged).
pub(crate) fn refused(verdict: Verdict, reason: String) -> Report {
    Report {
        verdict,
        reason,
        key_fingerprint: None,
        identity: None,
        signed_digest: None,
        layer: None,
        rejections: Vec::new(),
        layers: 0,
        non_signature_layers: 0,
    }
}

/// The node's verdict on `sig` (`None`: no `.sig` tag) for the image `digest` pulled as
/// `repository@pulled` (for an instance of a multi-arch image, `pulled` is the index's digest,
/// as a node pulls it), with the layers from `sig`'s blobs; a layer in `failed` could not be
/// fetched (its error).
pub fn judge(
    sig: Option<&Artifact>,
    failed: &BTreeMap<String, String>,
    repository: &str,
    pulled: &Digest,
    digest: &Digest,
    trust: &Trust,
) -> Report {
    let reference = format!("{repository}@{pulled}");
    let manifest_digest = digest.to_string();
    let image = Image {
        reference: &reference,
        manifest_digest: &manifest_digest,
    };
    let fetch = |d: &crate::sigstore::Descriptor| match sig.and_then(|s| s.blobs.get(&d.digest)) {
        Some(b) => Ok(b.clone()),
        None => Err(FetchError(
            failed
                .get(&d.digest)
                .cloned()
                .unwrap_or_else(|| format!("blob unknown to registry ({})", d.digest)),
        )),
    };
    let manifest = sig.map(|s| SigManifest {
        body: &s.manifest,
        content_type: &s.media_type,
    });
    verify(manifest, fetch, &image, trust)
        .unwrap_or_else(|e| refused(Verdict::IdentityMismatch, format!("cannot judge: {e}")))
}

/// The layer digests of a `.sig` manifest as a node reads them (Go's lax decoding), each once,
/// in order; none when it does not decode (the verdict says why).
pub fn layer_digests(manifest: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in crate::sigstore::oci1_from_manifest(manifest).unwrap_or_default() {
        if !out.contains(&l.digest) {
            out.push(l.digest);
        }
    }
    out
}

/// The config digest a `.sig` manifest names (a registry needs the blob to store the
/// manifest; a node never reads it).
pub fn config_digest(manifest: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct M {
        config: Option<C>,
    }
    #[derive(serde::Deserialize)]
    struct C {
        digest: Option<String>,
    }
    serde_json::from_slice::<M>(manifest).ok()?.config?.digest
}

/// One manifest of the layout's index.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry<'a> {
    media_type: &'a str,
    digest: &'a str,
    size: u64,
    annotations: BTreeMap<&'static str, &'a str>,
}

/// The OCI layout's `index.json`: one manifest per artifact, in entry order, named by its tag
/// (`org.opencontainers.image.ref.name`) and repository; `size_of` gives a blob's size by
/// digest. Compact JSON and a newline: the same entries give the same bytes.
pub fn oci_index(entries: &[SigstoreEntry], size_of: impl Fn(&str) -> u64) -> Vec<u8> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Index<'a> {
        schema_version: u32,
        media_type: &'static str,
        manifests: Vec<IndexEntry<'a>>,
    }
    let index = Index {
        schema_version: 2,
        media_type: "application/vnd.oci.image.index.v1+json",
        manifests: entries
            .iter()
            .map(|e| IndexEntry {
                media_type: &e.media_type,
                digest: &e.signature,
                size: size_of(&e.signature),
                annotations: BTreeMap::from([
                    (REPOSITORY_ANNOTATION, e.image.repository.as_str()),
                    (REF_NAME, e.tag.as_str()),
                ]),
            })
            .collect(),
    };
    let mut v = serde_json::to_vec(&index).expect("an index serializes");
    v.push(b'\n');
    v
}

/// The files of the OCI layout of `artifacts` (paths under `sigstore/`, sorted, each blob
/// once): `oci-layout`, `index.json` and `blobs/sha256/<hex>`.
pub fn layout_files(entries: &[SigstoreEntry], artifacts: &[&Artifact]) -> Vec<(String, Vec<u8>)> {
    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for a in artifacts {
        blobs.insert(a.digest(), a.manifest.clone());
        for (d, b) in &a.blobs {
            blobs.insert(d.clone(), b.clone());
        }
    }
    let index = oci_index(entries, |d| blobs.get(d).map_or(0, |b| b.len() as u64));
    let mut files: Vec<(String, Vec<u8>)> = blobs.into_iter().map(|(d, b)| (sigstore_blob_path(&d), b)).collect();
    files.push((SIGSTORE_INDEX.to_string(), index));
    files.push((SIGSTORE_LAYOUT.to_string(), OCI_LAYOUT.to_vec()));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}
