//! Sigstore (cosign-style) signatures of images, judged exactly as a node's containers/image
//! judges them for a `sigstoreSigned` policy with public keys: the `.sig` artifact
//! (`sha256-<digest>.sig`) a registry serves next to an image, its layers, the signature over each
//! payload and the payload itself ([`verify`]), against a trust of public keys and an identity
//! rule, usually a `ClusterImagePolicy` ([`policy`]). Red Hat's release-3 key is the default.
//!
//! Where containers/image leans on Go's own parsers (JSON, base64, MIME types, PEM, DER, Docker
//! references), the small modules here replay those parsers' exact behaviour, each naming the Go
//! function it follows; the cryptography is OpenSSL's.

mod crypto;
mod der;
mod gojson;
mod gotext;
mod manifest;
mod payload;
pub mod policy;
pub mod reference;
pub mod verify;

/// Go's `digest.Validate`, as a node checks a layer digest.
pub(crate) use gotext::validate_digest as gotext_validate_digest;
/// How containers/image decodes a `.sig` manifest, for reading its layers before judging it.
pub(crate) use manifest::oci1_from_manifest;
pub use payload::SIGNATURE_TYPE;
pub use policy::{ClusterImagePolicy, Curve, KeyError, KeyType, PolicyError, PublicKey, SignedIdentity, Trust};
pub use verify::{
    sigstore_tag, verify, verify_with_blobs, Blobs, Descriptor, FetchError, Image, Rejection, Report, SigManifest,
    Verdict, VerifyError,
};

#[cfg(test)]
mod tests;
