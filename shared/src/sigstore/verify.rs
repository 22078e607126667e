//! The node's verdict on a `.sig` artifact: what containers/image (and so CRI-O) decides for a
//! `sigstoreSigned` requirement with public keys, in the order it decides it
//! (rules 7–27 of the team's account of containers/image, `sigstore-rules.md`), in these steps:
//!
//! 1. no `.sig` tag (404 / MANIFEST_UNKNOWN): no signature;
//! 2. the manifest body over 4 MiB: refused;
//! 3. the Content-Type header, parameters dropped and lowercased by Go's `mime.ParseMediaType`,
//!    must be the OCI image manifest type (the body's own `mediaType` is never looked at);
//! 4. the body decodes as Go decodes an OCI manifest (see `manifest`), without `fsLayers`,
//!    `history` or `manifests`;
//! 5. every layer, whatever its media type, in order: a valid digest (sha256, sha384, sha512,
//!    lowercase hex), fetched, at most 4 MiB, matching its digest; any failure refuses the image;
//! 6. only layers of exactly `application/vnd.dev.cosign.simplesigning.v1+json` are signatures;
//!    none is "no signature";
//! 7. per signature, in order, the first accepted one wins: the annotation
//!    `dev.cosignproject.cosign/signature` is present, is Go `StdEncoding` base64, every trusted
//!    key can verify (an unsupported key type fails all), one key verifies it (see `crypto`),
//!    the payload passes the strict decoding (see `payload`), names the image's sha256 manifest
//!    digest, and its identity is accepted by the `signedIdentity` rule.
//!
//! The certificate, chain and bundle annotations, the config blob, the layer `size` and the
//! manifest's annotations are never read, as on a node with a key-only policy.

use std::collections::BTreeMap;

use super::gotext::{self, simplify_content_type, validate_digest, DigestAlgorithm};
use super::manifest::oci1_from_manifest;
use super::payload::parse_payload;
use super::policy::{KeyType, Trust};
use super::reference::{Named, ReferenceError};

/// containers/image `iolimits.MaxManifestBodySize`: the `.sig` manifest may be this long.
pub const MAX_MANIFEST_SIZE: usize = 4 * 1024 * 1024;
/// containers/image `iolimits.MaxSignatureBodySize`: each layer may be this long.
pub const MAX_SIGNATURE_SIZE: usize = 4 * 1024 * 1024;
/// The only Content-Type accepted for a `.sig` manifest.
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The media type of a signature layer (compared exactly).
pub const SIMPLESIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation that holds the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// What the node decides, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A signature was accepted: the node pulls the image.
    Valid,
    /// No `.sig` tag, no layers, or no layer of the signature media type.
    NoSignature,
    /// The `.sig` manifest or a layer is longer than 4 MiB.
    TooLarge,
    /// The `.sig` manifest was not served as an OCI image manifest.
    WrongMediaType,
    /// The `.sig` manifest does not decode as an OCI image manifest.
    BadManifest,
    /// A layer's digest is malformed or of an unknown algorithm.
    InvalidDigest,
    /// A layer could not be fetched (the fetch function failed).
    FetchFailed,
    /// A layer's bytes do not match its digest.
    BlobDigestMismatch,
    /// A signature layer has no `dev.cosignproject.cosign/signature` annotation.
    MissingAnnotation,
    /// The annotation is not Go `StdEncoding` base64.
    BadEncoding,
    /// A trusted key is of a type sigstore cannot verify with (every signature fails).
    UnsupportedKey,
    /// No trusted key verifies the signature (signed by another key, or damaged).
    BadSignature,
    /// The payload fails the strict decoding.
    BadPayload,
    /// The payload names another manifest digest.
    DigestMismatch,
    /// The payload's identity is not accepted for the reference pulled.
    IdentityMismatch,
    /// Several signature layers, each rejected (see [`Report::rejections`]).
    NoneAccepted,
}

impl Verdict {
    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::NoSignature => "no-signature",
            Verdict::TooLarge => "too-large",
            Verdict::WrongMediaType => "wrong-media-type",
            Verdict::BadManifest => "bad-manifest",
            Verdict::InvalidDigest => "invalid-digest",
            Verdict::FetchFailed => "fetch-failed",
            Verdict::BlobDigestMismatch => "blob-digest-mismatch",
            Verdict::MissingAnnotation => "missing-annotation",
            Verdict::BadEncoding => "bad-encoding",
            Verdict::UnsupportedKey => "unsupported-key",
            Verdict::BadSignature => "bad-signature",
            Verdict::BadPayload => "bad-payload",
            Verdict::DigestMismatch => "digest-mismatch",
            Verdict::IdentityMismatch => "identity-mismatch",
            Verdict::NoneAccepted => "none-accepted",
        }
    }

    pub fn is_valid(self) -> bool {
        self == Verdict::Valid
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why one signature layer was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    /// Index of the layer in the `.sig` manifest.
    pub layer: usize,
    pub verdict: Verdict,
    pub reason: String,
    /// The key that verified the signature, when the payload was rejected after that.
    pub key_fingerprint: Option<String>,
    /// `critical.identity.docker-reference`, when the payload decoded.
    pub identity: Option<String>,
    /// `critical.image.docker-manifest-digest`, when the payload decoded.
    pub signed_digest: Option<String>,
}

/// The verdict on an image's `.sig` artifact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub verdict: Verdict,
    /// A human reason, in containers/image's words where it has them.
    pub reason: String,
    /// The accepting key (SHA-256 of its SubjectPublicKeyInfo DER, hex); for a single rejected
    /// signature, the key that verified it if it got that far.
    pub key_fingerprint: Option<String>,
    /// The identity the accepted (or single rejected) payload names.
    pub identity: Option<String>,
    /// The manifest digest the accepted (or single rejected) payload names.
    pub signed_digest: Option<String>,
    /// The accepted layer (or the single rejected one).
    pub layer: Option<usize>,
    /// Every signature layer tried and rejected, in order.
    pub rejections: Vec<Rejection>,
    /// Layers in the `.sig` manifest (0 when it was not read).
    pub layers: usize,
    /// Layers skipped because their media type is not the signature type.
    pub non_signature_layers: usize,
}

impl Report {
    fn refused(verdict: Verdict, reason: String) -> Report {
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
}

/// A `.sig` manifest as the registry served it.
#[derive(Debug, Clone, Copy)]
pub struct SigManifest<'a> {
    /// The body (read up to [`MAX_MANIFEST_SIZE`] + 1 bytes is enough to judge).
    pub body: &'a [u8],
    /// The first `Content-Type` header value, as received (empty if there was none).
    pub content_type: &'a str,
}

/// A layer descriptor, handed to the fetch function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    /// Already validated: `sha256:`, `sha384:` or `sha512:` and lowercase hex.
    pub digest: String,
    /// As written (containers/image ignores it).
    pub size: i64,
    /// Tried first by containers/image, without credentials, if any is http(s).
    pub urls: Vec<String>,
    pub annotations: BTreeMap<String, String>,
}

/// A layer fetch that failed (any registry error refuses the image on a node).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FetchError(pub String);

/// The image being pulled.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    /// The reference the node pulls as: the logical one (before mirrors), e.g.
    /// `quay.io/openshift-release-dev/ocp-release@sha256:<d>`. For a multi-arch release this is
    /// the index digest; the payload must still name the instance ([`Image::manifest_digest`]).
    pub reference: &'a str,
    /// `sha256:<hex>` of the manifest of the instance pulled (the one whose `.sig` this is).
    pub manifest_digest: &'a str,
}

/// Mistakes in the inputs (not verdicts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("image reference {0:?}: {1}")]
    Reference(String, ReferenceError),
    #[error("manifest digest {0:?} is not sha256:<64 lowercase hex>")]
    ManifestDigest(String),
}

/// The tag containers/image reads signatures from: `sha256-<hex>.sig`.
pub fn sigstore_tag(manifest_digest: &str) -> Option<String> {
    validate_digest(manifest_digest).ok()?;
    Some(format!("{}.sig", manifest_digest.replacen(':', "-", 1)))
}

/// Layers' bytes held in memory, found by digest (sha256, sha384 or sha512).
#[derive(Debug, Default, Clone)]
pub struct Blobs {
    by_digest: BTreeMap<String, Vec<u8>>,
}

impl Blobs {
    pub fn new<B: AsRef<[u8]>>(blobs: impl IntoIterator<Item = B>) -> Blobs {
        let mut by_digest = BTreeMap::new();
        for b in blobs {
            let b = b.as_ref();
            for alg in [
                DigestAlgorithm::Sha256,
                DigestAlgorithm::Sha384,
                DigestAlgorithm::Sha512,
            ] {
                by_digest.insert(alg.digest_of(b), b.to_vec());
            }
        }
        Blobs { by_digest }
    }

    /// A fetch function for [`verify`]: "blob unknown" for a digest not held.
    pub fn fetch(&self, d: &Descriptor) -> Result<Vec<u8>, FetchError> {
        self.by_digest
            .get(&d.digest)
            .cloned()
            .ok_or_else(|| FetchError(format!("blob unknown to registry ({})", d.digest)))
    }
}

/// Judge an image's `.sig` artifact as a node does.
///
/// `sig` is `None` when the registry has no `sha256-<hex>.sig` tag (404 or MANIFEST_UNKNOWN;
/// any other registry error refuses the image on a node and is the caller's to report).
/// `fetch` returns a layer's bytes for its descriptor; it is called for every layer, in order,
/// until one fails (it need not read more than [`MAX_SIGNATURE_SIZE`] + 1 bytes).
pub fn verify(
    sig: Option<SigManifest<'_>>,
    mut fetch: impl FnMut(&Descriptor) -> Result<Vec<u8>, FetchError>,
    image: &Image<'_>,
    trust: &Trust,
) -> Result<Report, VerifyError> {
    let intended =
        Named::parse_normalized(image.reference).map_err(|e| VerifyError::Reference(image.reference.to_string(), e))?;
    if validate_digest(image.manifest_digest) != Ok(DigestAlgorithm::Sha256) {
        return Err(VerifyError::ManifestDigest(image.manifest_digest.to_string()));
    }
    let Some(sig) = sig else {
        return Ok(Report::refused(
            Verdict::NoSignature,
            "A signature was required, but no signature exists".into(),
        ));
    };

    // Rules 9–11: the manifest.
    if sig.body.len() > MAX_MANIFEST_SIZE {
        return Ok(Report::refused(
            Verdict::TooLarge,
            format!("reading manifest body: exceeded maximum allowed size of {MAX_MANIFEST_SIZE} bytes"),
        ));
    }
    let ct = simplify_content_type(sig.content_type.as_bytes());
    if ct != OCI_MANIFEST_MEDIA_TYPE {
        return Ok(Report::refused(
            Verdict::WrongMediaType,
            format!("unexpected MIME type for sigstore attachment manifest: {ct:?}"),
        ));
    }
    let layers = match oci1_from_manifest(sig.body) {
        Ok(l) => l,
        Err(e) => return Ok(Report::refused(Verdict::BadManifest, format!("parsing manifest: {e}"))),
    };

    // Rules 13–16: every layer is fetched and checked before any is judged.
    let payloads = match fetch_layers(&layers, &mut fetch) {
        Ok(p) => p,
        Err((verdict, reason)) => return Ok(Report::refused(verdict, reason)),
    };

    // Rules 19–20: the signatures, first accepted wins.
    let mut report = Report::refused(Verdict::NoSignature, String::new());
    report.layers = layers.len();
    for (index, (layer, payload)) in layers.iter().zip(&payloads).enumerate() {
        if layer.media_type != SIMPLESIGNING_MEDIA_TYPE {
            report.non_signature_layers += 1;
            continue;
        }
        match judge(
            index,
            layer.annotations.as_ref(),
            payload,
            &intended,
            image.manifest_digest,
            trust,
        ) {
            Ok(accepted) => {
                report.verdict = Verdict::Valid;
                report.reason = "accepted".into();
                report.key_fingerprint = accepted.key_fingerprint;
                report.identity = accepted.identity;
                report.signed_digest = accepted.signed_digest;
                report.layer = Some(index);
                return Ok(report);
            }
            Err(rejection) => report.rejections.push(rejection),
        }
    }
    settle(&mut report);
    Ok(report)
}

/// Fetch every layer and check its digest and size (rules 13–16), in order; the first failure
/// is the image's refusal.
fn fetch_layers(
    layers: &[super::manifest::Layer],
    fetch: &mut impl FnMut(&Descriptor) -> Result<Vec<u8>, FetchError>,
) -> Result<Vec<Vec<u8>>, (Verdict, String)> {
    let mut payloads = Vec::with_capacity(layers.len());
    for layer in layers {
        let alg = match validate_digest(&layer.digest) {
            Ok(a) => a,
            Err(why) => {
                return Err((
                    Verdict::InvalidDigest,
                    format!("invalid digest {:?}: {why}", layer.digest),
                ))
            }
        };
        let desc = Descriptor {
            media_type: layer.media_type.clone(),
            digest: layer.digest.clone(),
            size: layer.size,
            urls: layer.urls.visible().to_vec(),
            annotations: layer.annotations.clone().unwrap_or_default(),
        };
        let payload = match fetch(&desc) {
            Ok(p) => p,
            Err(e) => return Err((Verdict::FetchFailed, format!("fetching blob: {e}"))),
        };
        if payload.len() > MAX_SIGNATURE_SIZE {
            return Err((
                Verdict::TooLarge,
                format!(
                    "reading blob {}: exceeded maximum allowed size of {MAX_SIGNATURE_SIZE} bytes",
                    layer.digest
                ),
            ));
        }
        let actual = alg.digest_of(&payload);
        if actual != layer.digest {
            return Err((
                Verdict::BlobDigestMismatch,
                format!("digest mismatch, expected {:?}, got {actual:?}", layer.digest),
            ));
        }
        payloads.push(payload);
    }
    Ok(payloads)
}

/// No signature was accepted: the image's verdict from its rejections, as containers/image
/// words it (none, one, or several).
fn settle(report: &mut Report) {
    match report.rejections.as_slice() {
        [] => {
            report.reason = if report.non_signature_layers == 0 {
                "A signature was required, but no signature exists".into()
            } else {
                format!(
                    "A signature was required, but no signature exists (0 non-sigstore signatures, {} sigstore non-signature attachments)",
                    report.non_signature_layers
                )
            };
        }
        [one] => {
            report.verdict = one.verdict;
            report.reason = one.reason.clone();
            report.key_fingerprint = one.key_fingerprint.clone();
            report.identity = one.identity.clone();
            report.signed_digest = one.signed_digest.clone();
            report.layer = Some(one.layer);
        }
        many => {
            report.verdict = Verdict::NoneAccepted;
            report.reason = format!(
                "None of the signatures were accepted, reasons: {}",
                many.iter().map(|r| r.reason.as_str()).collect::<Vec<_>>().join("; ")
            );
        }
    }
}

/// [`verify`] with the layers' bytes supplied (found by their digests).
pub fn verify_with_blobs<B: AsRef<[u8]>>(
    sig: Option<SigManifest<'_>>,
    blobs: impl IntoIterator<Item = B>,
    image: &Image<'_>,
    trust: &Trust,
) -> Result<Report, VerifyError> {
    let blobs = Blobs::new(blobs);
    verify(sig, |d| blobs.fetch(d), image, trust)
}

struct Accepted {
    key_fingerprint: Option<String>,
    identity: Option<String>,
    signed_digest: Option<String>,
}

/// `isSignatureAccepted` for one signature layer.
fn judge(
    layer: usize,
    annotations: Option<&BTreeMap<String, String>>,
    payload: &[u8],
    intended: &Named,
    manifest_digest: &str,
    trust: &Trust,
) -> Result<Accepted, Rejection> {
    let mut rej = Rejection {
        layer,
        verdict: Verdict::BadSignature,
        reason: String::new(),
        key_fingerprint: None,
        identity: None,
        signed_digest: None,
    };
    let fail = |mut rej: Rejection, verdict, reason| {
        rej.verdict = verdict;
        rej.reason = reason;
        Err(rej)
    };
    let Some(b64) = annotations.and_then(|a| a.get(SIGNATURE_ANNOTATION)) else {
        return fail(
            rej,
            Verdict::MissingAnnotation,
            format!("missing {SIGNATURE_ANNOTATION} annotation"),
        );
    };
    let signature = match gotext::std_base64(b64.as_bytes()) {
        Ok(s) => s,
        Err(off) => {
            return fail(
                rej,
                Verdict::BadEncoding,
                format!("base64 decoding: illegal base64 data at input byte {off}"),
            )
        }
    };
    // LoadVerifier for every key first.
    if let Some(k) = trust
        .keys()
        .iter()
        .find(|k| matches!(k.key_type(), KeyType::Unsupported(_)))
    {
        return fail(
            rej,
            Verdict::UnsupportedKey,
            format!("unsupported public key type ({})", k.key_type()),
        );
    }
    let mut failures = Vec::new();
    let mut key = None;
    for k in trust.keys() {
        match super::crypto::verify(&k.material, payload, &signature) {
            Ok(()) => {
                key = Some(k);
                break;
            }
            Err(e) => failures.push(e),
        }
    }
    let Some(key) = key else {
        return fail(
            rej,
            Verdict::BadSignature,
            format!("cryptographic signature verification failed: {}", failures.join(", ")),
        );
    };
    rej.key_fingerprint = Some(key.fingerprint());
    let p = match parse_payload(payload) {
        Ok(p) => p,
        Err(e) => return fail(rej, Verdict::BadPayload, e),
    };
    rej.identity = Some(p.reference.clone());
    rej.signed_digest = Some(p.digest.clone());
    // manifest.MatchesDigest: the sha256 digest of the manifest, compared as a string.
    if p.digest != manifest_digest {
        return fail(
            rej,
            Verdict::DigestMismatch,
            format!("Signature for digest {} does not match", p.digest),
        );
    }
    if !trust.identity().matches(intended, &p.reference) {
        return fail(
            rej,
            Verdict::IdentityMismatch,
            format!("Signature for identity {:?} is not accepted", p.reference),
        );
    }
    Ok(Accepted {
        key_fingerprint: rej.key_fingerprint,
        identity: rej.identity,
        signed_digest: rej.signed_digest,
    })
}
