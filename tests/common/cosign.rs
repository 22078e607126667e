//! The test signer of sigstore `.sig` artifacts: keys (RSA-4096, ECDSA P-256) made with
//! openssl, payloads and artifacts built as containers/image writes them when it signs with
//! `--sign-by-sigstore-private-key` (checked byte for byte against the real artifacts in
//! tests/fixtures/sigstore/example-sig-artifact/), pushed into a real registry; and an
//! independent check of an artifact read back from a registry (openssl and serde_json only,
//! none of sigbundle's code), as a node checks it.

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::{Signer, Verifier};
use sha2::Digest as _;

use super::{http, RegistryProcess};

/// What containers/image puts in the `.sig` layer's media type.
pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The OCI image manifest media type a `.sig` is stored as.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The identity Red Hat signs release images with (repository and a tag).
pub const RH_RELEASE: &str = "quay.io/openshift-release-dev/ocp-release";
/// The repository payload components are pulled as.
pub const RH_ART_DEV: &str = "quay.io/openshift-release-dev/ocp-v4.0-art-dev";

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A sigstore signing key.
pub struct CosignKey {
    key: PKey<Private>,
    /// SubjectPublicKeyInfo PEM.
    pub public_pem: Vec<u8>,
}

impl CosignKey {
    pub fn rsa4096() -> CosignKey {
        let rsa = openssl::rsa::Rsa::generate(4096).unwrap();
        CosignKey::of(PKey::from_rsa(rsa).unwrap())
    }

    pub fn ecdsa_p256() -> CosignKey {
        let group = openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
        let ec = openssl::ec::EcKey::generate(&group).unwrap();
        CosignKey::of(PKey::from_ec_key(ec).unwrap())
    }

    /// A key from a PEM private key file (the fixed test key of the snapshots).
    pub fn from_pem_file(path: &std::path::Path) -> CosignKey {
        CosignKey::of(PKey::private_key_from_pem(&std::fs::read(path).unwrap()).unwrap())
    }

    fn of(key: PKey<Private>) -> CosignKey {
        let public_pem = key.public_key_to_pem().unwrap();
        CosignKey { key, public_pem }
    }

    /// Write the public key (PEM) to `path`.
    pub fn write_public(&self, path: &std::path::Path) {
        std::fs::write(path, &self.public_pem).unwrap();
    }

    /// SHA-256 and RSA PKCS#1 v1.5, or ECDSA (DER), over `payload`.
    pub fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let mut s = Signer::new(MessageDigest::sha256(), &self.key).unwrap();
        s.update(payload).unwrap();
        s.sign_to_vec().unwrap()
    }

    /// A whole artifact for `digest`, signed as Red Hat signs (identity `identity`).
    pub fn artifact(&self, identity: &str, digest: &str) -> SigArtifact {
        let p = payload(identity, digest);
        let sig = self.sign(&p);
        SigArtifact::new(p, &sig)
    }
}

/// The simple-signing payload containers/image writes.
pub fn payload(identity: &str, digest: &str) -> Vec<u8> {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{identity}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":{{"creator":"sigbundle tests","timestamp":1795945253}}}}"#
    )
    .into_bytes()
}

/// A `.sig` artifact's three blobs.
#[derive(Clone)]
pub struct SigArtifact {
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
    pub payload: Vec<u8>,
}

impl SigArtifact {
    /// The config and manifest containers/image writes around `payload` and `signature`.
    pub fn new(payload: Vec<u8>, signature: &[u8]) -> SigArtifact {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(signature);
        SigArtifact::with_annotation(payload, &b64, OCI_MANIFEST)
    }

    /// The same with the annotation's text and the manifest's media type given.
    pub fn with_annotation(payload: Vec<u8>, annotation: &str, media_type: &str) -> SigArtifact {
        let pd = sha256(&payload);
        let config =
            format!(r#"{{"architecture":"","os":"","rootfs":{{"type":"layers","diff_ids":["{pd}"]}}}}"#).into_bytes();
        let config_mt = if media_type == OCI_MANIFEST {
            "application/vnd.oci.image.config.v1+json"
        } else {
            "application/vnd.docker.container.image.v1+json"
        };
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"{media_type}","config":{{"mediaType":"{config_mt}","digest":"{}","size":{}}},"layers":[{{"mediaType":"{SIMPLESIGNING}","digest":"{pd}","size":{},"annotations":{{"dev.cosignproject.cosign/signature":"{annotation}"}}}}]}}"#,
            sha256(&config),
            config.len(),
            payload.len()
        )
        .into_bytes();
        SigArtifact {
            manifest,
            config,
            payload,
        }
    }

    /// `sha256:<hex>` of the manifest.
    pub fn digest(&self) -> String {
        sha256(&self.manifest)
    }

    /// The manifest's media type.
    pub fn media_type(&self) -> String {
        let v: serde_json::Value = serde_json::from_slice(&self.manifest).unwrap();
        v["mediaType"].as_str().unwrap().to_string()
    }
}

/// The `.sig` tag of an image digest.
pub fn sig_tag(digest: &str) -> String {
    format!("{}.sig", digest.replace(':', "-"))
}

impl RegistryProcess {
    /// Push `art` as the `.sig` of `image_digest` in `repo`; returns the manifest digest.
    pub fn push_sig(&self, repo: &str, image_digest: &str, art: &SigArtifact) -> String {
        self.push_blob(repo, &art.config, None);
        self.push_blob(repo, &art.payload, None);
        self.push_manifest(repo, &sig_tag(image_digest), &art.media_type(), &art.manifest, None)
    }

    /// GET a manifest: (status, content type, body).
    pub fn get_manifest(&self, repo: &str, reference: &str) -> (u16, String, Vec<u8>) {
        let (status, headers, body) = http(
            &self.host,
            "GET",
            &format!("/v2/{repo}/manifests/{reference}"),
            &[("Accept", OCI_MANIFEST)],
            b"",
            None,
        );
        let ct = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|h| h.1.clone())
            .unwrap_or_default();
        (status, ct, body)
    }

    /// GET a blob.
    pub fn get_blob(&self, repo: &str, digest: &str) -> Option<Vec<u8>> {
        let (status, _, body) = http(&self.host, "GET", &format!("/v2/{repo}/blobs/{digest}"), &[], b"", None);
        (status == 200).then_some(body)
    }

    /// The tags of `repo` (none when the repository does not exist).
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let (status, _, body) = http(&self.host, "GET", &format!("/v2/{repo}/tags/list"), &[], b"", None);
        if status != 200 {
            return Vec::new();
        }
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let mut t: Vec<String> = v["tags"]
            .as_array()
            .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        t.sort();
        t
    }

    /// Copy an image (manifest, or index with its instances, and their blobs) from `from` to
    /// `self`, by digest, without any `.sig`, as `oc adm release mirror` does.
    pub fn copy_image_from(&self, from: &RegistryProcess, src_repo: &str, dst_repo: &str, digest: &str) {
        let (status, ct, body) = {
            let (s, h, b) = http(
                &from.host,
                "GET",
                &format!("/v2/{src_repo}/manifests/{digest}"),
                &[(
                    "Accept",
                    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
                )],
                b"",
                None,
            );
            let ct = h
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                .map(|h| h.1.clone())
                .unwrap();
            (s, ct, b)
        };
        assert_eq!(status, 200, "{src_repo}@{digest}");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if let Some(list) = v["manifests"].as_array() {
            for m in list {
                self.copy_image_from(from, src_repo, dst_repo, m["digest"].as_str().unwrap());
            }
        } else {
            let blobs = std::iter::once(&v["config"]).chain(v["layers"].as_array().into_iter().flatten());
            for b in blobs {
                let d = b["digest"].as_str().unwrap();
                let bytes = from.get_blob(src_repo, d).unwrap();
                self.push_blob(dst_repo, &bytes, None);
            }
        }
        assert_eq!(self.push_manifest(dst_repo, digest, &ct, &body, None), digest);
    }
}

/// Read `.sig` of `image_digest` back from `repo` in `reg` as a node reads it (the tag
/// `sha256-<hex>.sig`), and check it independently: an OCI manifest; a simple-signing layer
/// whose bytes match its digest; its annotation verifies over those bytes with `public_pem`
/// (RSA PKCS#1 v1.5 or ECDSA, SHA-256); the payload's type, its digest, and its identity's
/// repository `repository`. Returns the manifest's digest.
pub fn verify_read_back(
    reg: &RegistryProcess,
    repo: &str,
    image_digest: &str,
    public_pem: &[u8],
    repository: &str,
) -> Result<String, String> {
    use base64::Engine;
    let (status, ct, manifest) = reg.get_manifest(repo, &sig_tag(image_digest));
    if status != 200 {
        return Err(format!("no .sig: HTTP {status}"));
    }
    if ct != OCI_MANIFEST {
        return Err(format!("served as {ct}"));
    }
    let m: serde_json::Value = serde_json::from_slice(&manifest).map_err(|e| e.to_string())?;
    if m["mediaType"] != OCI_MANIFEST {
        return Err("not an OCI manifest".into());
    }
    let key = PKey::public_key_from_pem(public_pem).map_err(|e| e.to_string())?;
    for layer in m["layers"].as_array().ok_or("no layers")? {
        if layer["mediaType"] != SIMPLESIGNING {
            continue;
        }
        let d = layer["digest"].as_str().ok_or("no digest")?;
        let blob = reg.get_blob(repo, d).ok_or("layer not there")?;
        if sha256(&blob) != d {
            return Err("layer does not match its digest".into());
        }
        let sig = layer["annotations"]["dev.cosignproject.cosign/signature"]
            .as_str()
            .ok_or("no signature annotation")?;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .map_err(|e| e.to_string())?;
        let mut v = Verifier::new(MessageDigest::sha256(), &key).map_err(|e| e.to_string())?;
        v.update(&blob).map_err(|e| e.to_string())?;
        if !v.verify(&sig).unwrap_or(false) {
            return Err("signature does not verify".into());
        }
        let p: serde_json::Value = serde_json::from_slice(&blob).map_err(|e| e.to_string())?;
        if p["critical"]["type"] != "cosign container image signature" {
            return Err("payload type".into());
        }
        if p["critical"]["image"]["docker-manifest-digest"] != image_digest {
            return Err(format!(
                "payload names {}",
                p["critical"]["image"]["docker-manifest-digest"]
            ));
        }
        let id = p["critical"]["identity"]["docker-reference"].as_str().unwrap_or("");
        let id_repo = id.split('@').next().unwrap();
        let id_repo = match id_repo.rfind(':') {
            Some(i) if !id_repo[i..].contains('/') => &id_repo[..i],
            _ => id_repo,
        };
        if id_repo != repository {
            return Err(format!("identity {id} is not of {repository}"));
        }
        return Ok(sha256(&manifest));
    }
    Err("no simple-signing layer".into())
}
