//! The trust a node applies to sigstore signatures: public keys read as sigstore's
//! `cryptoutils.UnmarshalPEMToPublicKey` reads them, the `signedIdentity` rule, and the
//! `ClusterImagePolicy` they come from. Red Hat's release-3 key (the `openshift` policy OCP
//! ships) is compiled in ([`ClusterImagePolicy::openshift`], [`Trust::release`]).
//!
//! Keys: the first PEM block of the file counts (Go's `pem.Decode`: text before it is skipped, a
//! malformed block is skipped, later blocks are ignored). `PUBLIC KEY` is a SubjectPublicKeyInfo
//! (`x509.ParsePKIXPublicKey`: RSA, ECDSA P-224/P-256/P-384/P-521, Ed25519; X25519 and DSA keys
//! parse but cannot verify anything, see [`KeyType::Unsupported`]); `RSA PUBLIC KEY` is PKCS #1
//! (`x509.ParsePKCS1PublicKey`); any other type is an error.

use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::pkey::{Id, PKey};
use openssl::rsa::Rsa;

pub use super::der::Curve;
use super::der::{self, KeyMaterial};
use super::gotext::{pem_decode, std_base64};
use super::reference::{self, Named};

/// The `openshift` ClusterImagePolicy OCP payloads ship (openshift/cluster-update-keys).
const OPENSHIFT_POLICY: &str = include_str!("../../keys/openshift-cluster-image-policy.yaml");

/// Why a public key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("PEM decoding failed")]
    NoPem,
    #[error("unknown Public key PEM file type: {0}. Are you passing the correct public key?")]
    UnknownPemType(String),
    #[error("{0}")]
    Parse(String),
}

/// Why a policy could not be read or built.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("not a ClusterImagePolicy: {0}")]
    Yaml(String),
    #[error("kind {0:?} is not ClusterImagePolicy or ImagePolicy")]
    Kind(String),
    #[error("policy type {0:?} is not supported (only PublicKey)")]
    PolicyType(String),
    #[error("rootOfTrust.publicKey is missing")]
    NoPublicKey,
    #[error("rekorKeyData is not supported: a Rekor bundle is not checked")]
    Rekor,
    #[error("keyData is not valid base64 (byte {0})")]
    KeyData(usize),
    #[error("public key: {0}")]
    Key(#[from] KeyError),
    #[error("a trust needs at least one public key")]
    NoKeys,
    #[error("signedIdentity: {0}")]
    Identity(String),
}

/// What kind of key, as Go's x509 returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa {
        bits: usize,
    },
    Ecdsa(Curve),
    Ed25519,
    /// Parsed by Go's x509 but refused by sigstore's `LoadVerifier` ("unsupported public key
    /// type"): with such a key in the trust, every signature fails.
    Unsupported(&'static str),
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyType::Rsa { bits } => write!(f, "RSA-{bits}"),
            KeyType::Ecdsa(c) => write!(f, "ECDSA {}", c.name()),
            KeyType::Ed25519 => write!(f, "Ed25519"),
            KeyType::Unsupported(a) => write!(f, "{a} (unsupported)"),
        }
    }
}

/// A trusted public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) material: KeyMaterial,
    /// SubjectPublicKeyInfo DER, re-encoded from the key (as Go's `MarshalPKIXPublicKey`).
    spki: Vec<u8>,
}

impl PublicKey {
    /// `cryptoutils.UnmarshalPEMToPublicKey`.
    pub fn from_pem(pem: &[u8]) -> Result<PublicKey, KeyError> {
        let (kind, der) = pem_decode(pem).ok_or(KeyError::NoPem)?;
        let material = match kind.as_str() {
            "PUBLIC KEY" => der::parse_pkix(&der),
            "RSA PUBLIC KEY" => der::parse_pkcs1(&der),
            _ => return Err(KeyError::UnknownPemType(kind)),
        }
        .map_err(KeyError::Parse)?;
        let spki = match &material {
            KeyMaterial::Unsupported(_) => der,
            m => marshal_spki(m).map_err(|e| KeyError::Parse(format!("re-encoding the key: {e}")))?,
        };
        Ok(PublicKey { material, spki })
    }

    /// The key's type.
    pub fn key_type(&self) -> KeyType {
        match &self.material {
            KeyMaterial::Rsa { n, .. } => KeyType::Rsa {
                bits: BigNum::from_slice(n).map_or(0, |b| b.num_bits() as usize),
            },
            KeyMaterial::Ecdsa { curve, .. } => KeyType::Ecdsa(*curve),
            KeyMaterial::Ed25519(_) => KeyType::Ed25519,
            KeyMaterial::Unsupported(a) => KeyType::Unsupported(a),
        }
    }

    /// SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// SHA-256 of the SubjectPublicKeyInfo DER, lowercase hex.
    pub fn fingerprint(&self) -> String {
        hex::encode(openssl::sha::sha256(&self.spki))
    }
}

fn marshal_spki(m: &KeyMaterial) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    match m {
        KeyMaterial::Rsa { n, e } => {
            let rsa = Rsa::from_public_components(BigNum::from_slice(n)?, BigNum::from_dec_str(&e.to_string())?)?;
            PKey::from_rsa(rsa)?.public_key_to_der()
        }
        KeyMaterial::Ecdsa { curve, point } => {
            let group = EcGroup::from_curve_name(curve.nid())?;
            let mut ctx = openssl::bn::BigNumContext::new()?;
            let pt = EcPoint::from_bytes(&group, point, &mut ctx)?;
            PKey::from_ec_key(EcKey::from_public_key(&group, &pt)?)?.public_key_to_der()
        }
        KeyMaterial::Ed25519(k) => PKey::public_key_from_raw_bytes(k, Id::ED25519)?.public_key_to_der(),
        KeyMaterial::Unsupported(_) => Ok(Vec::new()),
    }
}

/// The `signedIdentity` of a `sigstoreSigned` requirement (containers/image
/// `policy_reference_match.go`): which `critical.identity.docker-reference` is accepted for the
/// reference the node pulls as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SignedIdentity {
    /// The default (and the `openshift` policy's): a digest pull needs the same repository, a
    /// tag pull the identical `name:tag`.
    #[default]
    MatchRepoDigestOrExact,
    /// The same repository.
    MatchRepository,
    /// The identical reference (both tagged or digested).
    MatchExact,
    /// The identical reference to this one, whatever is pulled.
    ExactReference(String),
    /// The same repository as this one, whatever is pulled.
    ExactRepository(String),
    /// `matchRepoDigestOrExact` after replacing `prefix` by `signed_prefix` in the pulled
    /// reference (when its name is `prefix` or under `prefix/`).
    RemapIdentity { prefix: String, signed_prefix: String },
}

impl SignedIdentity {
    /// Check the values as containers/image does when it loads a policy.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let err = |m: String| Err(PolicyError::Identity(m));
        match self {
            SignedIdentity::ExactReference(r) => match Named::parse_normalized(r) {
                Ok(n) if !n.is_name_only() => Ok(()),
                Ok(_) => err(format!("dockerReference {r} contains neither a tag nor digest")),
                Err(e) => err(format!("dockerReference {r}: {e}")),
            },
            SignedIdentity::ExactRepository(r) => Named::parse_normalized(r)
                .map(|_| ())
                .or_else(|e| err(format!("dockerRepository {r}: {e}"))),
            SignedIdentity::RemapIdentity { prefix, signed_prefix } => {
                for p in [prefix, signed_prefix] {
                    if !reference::valid_remap_prefix(p) {
                        return err(format!("prefix {p:?} is not valid"));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// `matchesDockerReference(image, signatureDockerReference)`.
    pub(crate) fn matches(&self, intended: &Named, signed: &str) -> bool {
        let Ok(sig) = Named::parse_normalized(signed) else {
            return false;
        };
        match self {
            SignedIdentity::MatchRepoDigestOrExact => reference::match_repo_digest_or_exact(intended, &sig),
            SignedIdentity::MatchRepository => sig.name() == intended.name(),
            SignedIdentity::MatchExact => {
                !intended.is_name_only() && !sig.is_name_only() && sig.to_string() == intended.to_string()
            }
            SignedIdentity::ExactReference(r) => Named::parse_normalized(r)
                .is_ok_and(|r| !r.is_name_only() && !sig.is_name_only() && sig.to_string() == r.to_string()),
            SignedIdentity::ExactRepository(r) => Named::parse_normalized(r).is_ok_and(|r| sig.name() == r.name()),
            SignedIdentity::RemapIdentity { prefix, signed_prefix } => {
                let name = intended.name();
                let under = name == *prefix
                    || (name.len() > prefix.len()
                        && name.starts_with(prefix.as_str())
                        && name.as_bytes()[prefix.len()] == b'/');
                let remapped = if under {
                    match Named::parse_canonical(&intended.to_string().replacen(prefix.as_str(), signed_prefix, 1)) {
                        Ok(r) => r,
                        Err(_) => return false,
                    }
                } else {
                    intended.clone()
                };
                reference::match_repo_digest_or_exact(&remapped, &sig)
            }
        }
    }
}

/// The parsed trust of one `sigstoreSigned` requirement with public keys: any key may sign;
/// the identity rule applies to every signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    keys: Vec<PublicKey>,
    identity: SignedIdentity,
}

impl Trust {
    /// A trust of these keys (at least one) and identity rule.
    pub fn new(keys: Vec<PublicKey>, identity: SignedIdentity) -> Result<Trust, PolicyError> {
        if keys.is_empty() {
            return Err(PolicyError::NoKeys);
        }
        identity.validate()?;
        Ok(Trust { keys, identity })
    }

    /// Red Hat's release-3 key with `matchRepoDigestOrExact`: what the `openshift`
    /// ClusterImagePolicy makes every node require for its scopes.
    pub fn release() -> Trust {
        ClusterImagePolicy::openshift().trust
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    pub fn identity(&self) -> &SignedIdentity {
        &self.identity
    }
}

/// A `config.openshift.io/v1` `ClusterImagePolicy` (or `ImagePolicy`) with a `PublicKey` root
/// of trust.
#[derive(Debug, Clone)]
pub struct ClusterImagePolicy {
    pub name: String,
    /// `spec.scopes`: registries, repositories or images (`*.example.com` wildcards allowed).
    pub scopes: Vec<String>,
    pub trust: Trust,
}

mod yaml {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(super) struct Doc {
        pub kind: Option<String>,
        pub metadata: Option<Meta>,
        pub spec: Spec,
    }

    #[derive(Deserialize)]
    pub(super) struct Meta {
        pub name: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Spec {
        #[serde(default)]
        pub scopes: Vec<String>,
        pub policy: Policy,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Policy {
        pub root_of_trust: RootOfTrust,
        pub signed_identity: Option<SignedIdentity>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct RootOfTrust {
        pub policy_type: String,
        pub public_key: Option<PublicKey>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct PublicKey {
        pub key_data: String,
        pub rekor_key_data: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct SignedIdentity {
        pub match_policy: String,
        pub exact_repository: Option<ExactRepository>,
        pub remap_identity: Option<RemapIdentity>,
    }

    #[derive(Deserialize)]
    pub(super) struct ExactRepository {
        pub repository: String,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct RemapIdentity {
        pub prefix: String,
        pub signed_prefix: String,
    }
}

impl ClusterImagePolicy {
    /// Read a ClusterImagePolicy from YAML (or JSON).
    pub fn from_yaml(text: &str) -> Result<ClusterImagePolicy, PolicyError> {
        let doc: yaml::Doc = serde_saphyr::from_str(text).map_err(|e| PolicyError::Yaml(e.to_string()))?;
        if let Some(kind) = &doc.kind {
            if kind != "ClusterImagePolicy" && kind != "ImagePolicy" {
                return Err(PolicyError::Kind(kind.clone()));
            }
        }
        let root = doc.spec.policy.root_of_trust;
        if root.policy_type != "PublicKey" {
            return Err(PolicyError::PolicyType(root.policy_type));
        }
        let pk = root.public_key.ok_or(PolicyError::NoPublicKey)?;
        if pk.rekor_key_data.as_deref().is_some_and(|r| !r.is_empty()) {
            return Err(PolicyError::Rekor);
        }
        let pem = std_base64(pk.key_data.as_bytes()).map_err(PolicyError::KeyData)?;
        let key = PublicKey::from_pem(&pem)?;
        let identity = match doc.spec.policy.signed_identity {
            None => SignedIdentity::MatchRepoDigestOrExact,
            Some(si) => match si.match_policy.as_str() {
                "" | "MatchRepoDigestOrExact" => SignedIdentity::MatchRepoDigestOrExact,
                "MatchRepository" => SignedIdentity::MatchRepository,
                "ExactRepository" => SignedIdentity::ExactRepository(
                    si.exact_repository
                        .ok_or_else(|| PolicyError::Identity("exactRepository is missing".into()))?
                        .repository,
                ),
                "RemapIdentity" => {
                    let r = si
                        .remap_identity
                        .ok_or_else(|| PolicyError::Identity("remapIdentity is missing".into()))?;
                    SignedIdentity::RemapIdentity {
                        prefix: r.prefix,
                        signed_prefix: r.signed_prefix,
                    }
                }
                other => return Err(PolicyError::Identity(format!("unknown matchPolicy {other:?}"))),
            },
        };
        Ok(ClusterImagePolicy {
            name: doc.metadata.and_then(|m| m.name).unwrap_or_default(),
            scopes: doc.spec.scopes,
            trust: Trust::new(vec![key], identity)?,
        })
    }

    /// The `openshift` ClusterImagePolicy (Red Hat's release-3 key), compiled in.
    pub fn openshift() -> ClusterImagePolicy {
        ClusterImagePolicy::from_yaml(OPENSHIFT_POLICY).expect("the embedded openshift ClusterImagePolicy is valid")
    }

    /// Whether a reference (as pulled) falls under one of the scopes, as policy.json scopes of
    /// the `docker` transport match: the exact image, its repository, a parent namespace, its
    /// registry, or a `*.domain` wildcard of the registry.
    pub fn applies_to(&self, reference: &str) -> bool {
        let Ok(r) = Named::parse_normalized(reference) else {
            return false;
        };
        let (identity, name, domain) = (r.to_string(), r.name(), r.domain().to_string());
        self.scopes.iter().any(|scope| {
            if let Some(suffix) = scope.strip_prefix('*') {
                return suffix.starts_with('.') && domain.ends_with(suffix);
            }
            *scope == identity
                || *scope == name
                || name.strip_prefix(scope.as_str()).is_some_and(|r| r.starts_with('/'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_policy_is_red_hat_release_3() {
        let p = ClusterImagePolicy::openshift();
        assert_eq!(p.name, "openshift");
        assert_eq!(p.scopes[0], "quay.io/openshift-release-dev/ocp-release");
        assert_eq!(p.trust.identity(), &SignedIdentity::MatchRepoDigestOrExact);
        let k = &p.trust.keys()[0];
        assert_eq!(k.key_type(), KeyType::Rsa { bits: 4096 });
        let d = format!("sha256:{}", "ab".repeat(32));
        assert!(p.applies_to(&format!("quay.io/openshift-release-dev/ocp-release@{d}")));
        assert!(p.applies_to("quay.io/openshift-release-dev/ocp-v4.0-art-dev:x"));
        assert!(!p.applies_to("quay.io/openshift-release-dev/ocp-release-nightly:x"));
        assert!(!p.applies_to("registry.example/ocp/release:x"));
    }

    #[test]
    fn pem_rules() {
        // A block that is not a valid key is an error.
        let junk = "-----BEGIN PUBLIC KEY-----\nMDAw\n-----END PUBLIC KEY-----\n";
        assert!(matches!(PublicKey::from_pem(junk.as_bytes()), Err(KeyError::Parse(_))));
        assert_eq!(PublicKey::from_pem(b"nothing"), Err(KeyError::NoPem));
        assert!(matches!(
            PublicKey::from_pem(b"-----BEGIN CERTIFICATE-----\nMDAw\n-----END CERTIFICATE-----\n"),
            Err(KeyError::UnknownPemType(_))
        ));
    }

    #[test]
    fn remap_identity() {
        let id = SignedIdentity::RemapIdentity {
            prefix: "quay.io/openshift-release-dev".into(),
            signed_prefix: "registry.example/sig".into(),
        };
        id.validate().unwrap();
        let d = format!("sha256:{}", "ab".repeat(32));
        let pull = Named::parse_normalized(&format!("quay.io/openshift-release-dev/ocp-release@{d}")).unwrap();
        assert!(id.matches(&pull, "registry.example/sig/ocp-release:x"));
        assert!(!id.matches(&pull, "quay.io/openshift-release-dev/ocp-release:x"));
        let not_boundary = SignedIdentity::RemapIdentity {
            prefix: "quay.io/openshift-release".into(),
            signed_prefix: "registry.example/sig".into(),
        };
        assert!(!not_boundary.matches(&pull, "registry.example/sig-dev/ocp-release:x"));
        assert!(SignedIdentity::RemapIdentity {
            prefix: "quay.io/a/".into(),
            signed_prefix: "x.io".into()
        }
        .validate()
        .is_err());
    }
}
