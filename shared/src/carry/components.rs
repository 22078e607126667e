//! The payload's component images: `release-manifests/image-references` (an ImageStream whose
//! `spec.tags[].from.name` are the components by digest), read from the release image's layers
//! through the registry API — streamed, topmost layer first (an upper layer's file is the one
//! the image holds), stopping at the layer that holds it — or from a file (`--image-references`).
//! Bounded: the file's size, the number of components, the bytes decompressed per layer and the
//! layers looked at.

use std::io::Read;

use serde::Deserialize;

use super::collect::{index_instances, ImageManifest};
use crate::digest::{Digest, Pullspec};
use crate::registry::{Registry, RegistryError, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES};

/// The file's path inside the release image.
pub const IMAGE_REFERENCES: &str = "release-manifests/image-references";
/// The largest `image-references` read (a real one is about 100 KiB).
pub const MAX_IMAGE_REFERENCES_BYTES: u64 = 8 << 20;
/// The most components one release may name (a real payload has about 200).
pub const MAX_COMPONENTS: usize = 1000;
/// The most layers of a release image looked through.
pub const MAX_LAYERS: usize = 64;
/// The most bytes one layer may decompress to while it is searched.
pub const MAX_LAYER_BYTES: u64 = 4 << 30;

/// One component image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRef {
    /// Its `image-references` tag name (`cluster-version-operator`, …).
    pub name: String,
    /// The repository the cluster pulls it as (`quay.io/openshift-release-dev/ocp-v4.0-art-dev`).
    pub repository: Pullspec,
    pub digest: Digest,
}

/// Why the component list could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ComponentsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: larger than the {limit}-byte limit; not read")]
    TooLarge { origin: String, limit: u64 },
    #[error("{origin}: names {count} component images, over the limit of {limit}")]
    TooMany { origin: String, count: usize, limit: usize },
    #[error("{origin}: not an image-references ImageStream: {reason}")]
    Invalid { origin: String, reason: String },
    #[error("{origin}: no {IMAGE_REFERENCES} in its top {layers} layer(s)")]
    NotFound { origin: String, layers: usize },
    #[error("{origin}: {reason}")]
    Layer { origin: String, reason: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl ComponentsError {
    /// Content over its bounds or malformed is refused (exit 1); unreadable input is I/O.
    pub fn exit_class(&self) -> crate::error::ExitClass {
        use crate::error::ExitClass;
        match self {
            ComponentsError::Read { .. } | ComponentsError::Registry(_) => ExitClass::UsageOrIo,
            _ => ExitClass::Verification,
        }
    }
}

/// Parse an `image-references` ImageStream (at most [`MAX_IMAGE_REFERENCES_BYTES`] and
/// [`MAX_COMPONENTS`]); `origin` names it in errors.
pub fn parse(bytes: &[u8], origin: &str) -> Result<Vec<ComponentRef>, ComponentsError> {
    #[derive(Deserialize)]
    struct Stream {
        kind: Option<String>,
        spec: Spec,
    }
    #[derive(Deserialize)]
    struct Spec {
        #[serde(default)]
        tags: Vec<Tag>,
    }
    #[derive(Deserialize)]
    struct Tag {
        name: String,
        from: Option<From>,
    }
    #[derive(Deserialize)]
    struct From {
        kind: Option<String>,
        name: String,
    }
    let invalid = |reason: String| ComponentsError::Invalid {
        origin: origin.to_string(),
        reason: crate::text::escape_name(&crate::text::truncate_chars(&reason, 300)),
    };
    if bytes.len() as u64 > MAX_IMAGE_REFERENCES_BYTES {
        return Err(ComponentsError::TooLarge {
            origin: origin.to_string(),
            limit: MAX_IMAGE_REFERENCES_BYTES,
        });
    }
    let s: Stream = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    if let Some(k) = s.kind.as_deref().filter(|k| *k != "ImageStream") {
        return Err(invalid(format!("kind {k:?}")));
    }
    if s.spec.tags.len() > MAX_COMPONENTS {
        return Err(ComponentsError::TooMany {
            origin: origin.to_string(),
            count: s.spec.tags.len(),
            limit: MAX_COMPONENTS,
        });
    }
    let mut out = Vec::with_capacity(s.spec.tags.len());
    for t in s.spec.tags {
        let Some(from) = t.from.filter(|f| f.kind.as_deref().is_none_or(|k| k == "DockerImage")) else {
            return Err(invalid(format!("component {:?} names no DockerImage", t.name)));
        };
        let p = Pullspec::parse(&from.name).map_err(|e| invalid(format!("component {:?}: {e}", t.name)))?;
        let Some(digest) = p.digest else {
            return Err(invalid(format!(
                "component {:?} is not named by digest: {}",
                t.name, from.name
            )));
        };
        if t.name.is_empty() || t.name.len() > 253 || t.name.chars().any(|c| c.is_control()) {
            return Err(invalid(format!("component name {:?}", t.name)));
        }
        out.push(ComponentRef {
            name: t.name,
            repository: Pullspec {
                tag: None,
                digest: None,
                ..p
            },
            digest,
        });
    }
    Ok(out)
}

/// Read a list file (`--image-references FILE`).
pub fn read_file(path: &std::path::Path) -> Result<Vec<ComponentRef>, ComponentsError> {
    let read = |source| ComponentsError::Read {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(read)?;
    let mut bytes = Vec::new();
    f.take(MAX_IMAGE_REFERENCES_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    parse(&bytes, &path.display().to_string())
}

/// The components of the release `digest` (in `source`) whose manifest is `m`: for an index,
/// those of its first linux/amd64 instance (else its first).
pub(crate) async fn from_release(
    reg: &Registry,
    source: &Pullspec,
    digest: &Digest,
    m: &ImageManifest,
) -> Result<Vec<ComponentRef>, ComponentsError> {
    let origin = format!("{}@{digest}", source.repository_name());
    let (bytes, at) = match index_instances(&m.bytes, &m.content_type) {
        None => (m.bytes.clone(), origin.clone()),
        Some(list) => {
            let pick = list
                .iter()
                .find(|(_, p)| p == "linux/amd64")
                .or(list.first())
                .ok_or_else(|| ComponentsError::Layer {
                    origin: origin.clone(),
                    reason: "an index without instances".into(),
                })?;
            let inst = reg
                .manifest(source, &pick.0.to_string(), MANIFEST_ACCEPT, MAX_MANIFEST_BYTES)
                .await?
                .ok_or_else(|| ComponentsError::Layer {
                    origin: origin.clone(),
                    reason: format!("its instance {} is not in {}", pick.0, source.repository_name()),
                })?;
            (inst.bytes, format!("{}@{}", source.repository_name(), pick.0))
        }
    };
    #[derive(Deserialize)]
    struct Layers {
        #[serde(default)]
        layers: Vec<Layer>,
    }
    #[derive(Deserialize)]
    struct Layer {
        digest: String,
    }
    let layers: Layers = serde_json::from_slice(&bytes).map_err(|e| ComponentsError::Layer {
        origin: at.clone(),
        reason: format!("not an image manifest: {e}"),
    })?;
    let looked = layers.layers.len().min(MAX_LAYERS);
    for layer in layers.layers.iter().rev().take(MAX_LAYERS) {
        if Digest::parse(&layer.digest).is_err() {
            return Err(ComponentsError::Layer {
                origin: at,
                reason: format!(
                    "layer digest {:?} is not sha256",
                    crate::text::escape_name(&layer.digest)
                ),
            });
        }
        match scan_layer(reg, source, &layer.digest, &at).await? {
            Found::File(bytes) => return parse(&bytes, &format!("{at} {IMAGE_REFERENCES}")),
            Found::Deleted => break,
            Found::Absent => {}
        }
    }
    Err(ComponentsError::NotFound {
        origin: at,
        layers: looked,
    })
}

/// What one layer says of the file.
enum Found {
    File(Vec<u8>),
    /// A whiteout hides it (and every lower layer's).
    Deleted,
    Absent,
}

/// Stream one layer blob through a decompressor and a tar reader on a blocking thread, stopping
/// at the file (or its whiteout), or the layer's end.
async fn scan_layer(reg: &Registry, source: &Pullspec, digest: &str, at: &str) -> Result<Found, ComponentsError> {
    let mut resp = reg.blob_response(source, digest).await?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
    let origin = format!("{at} layer {digest}");
    let o = origin.clone();
    let scanner = tokio::task::spawn_blocking(move || {
        scan_tar(
            ChannelReader {
                rx,
                buf: Vec::new(),
                at: 0,
            },
            &o,
        )
    });
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if tx.send(c.to_vec()).is_err() {
                    break; // the scanner is done
                }
            }
            Ok(None) => break,
            Err(e) => {
                drop(tx);
                let _ = scanner.await;
                return Err(ComponentsError::Layer {
                    origin,
                    reason: crate::text::error_chain(&e),
                });
            }
        }
    }
    drop(tx);
    scanner.await.expect("the layer scanner does not panic")
}

/// A `Read` over chunks sent from the async side.
struct ChannelReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.buf.len() {
            match self.rx.recv() {
                Ok(b) => {
                    self.buf = b;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The layer as a tar, decompressed by its magic (gzip, zstd, or none), searched for the file.
fn scan_tar<R: Read>(raw: R, origin: &str) -> Result<Found, ComponentsError> {
    let err = |reason: String| ComponentsError::Layer {
        origin: origin.to_string(),
        reason,
    };
    let mut raw = std::io::BufReader::new(raw);
    let head = std::io::BufRead::fill_buf(&mut raw)
        .map_err(|e| err(e.to_string()))?
        .to_vec();
    let decoded: Box<dyn Read> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(raw))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(raw).map_err(|e| err(e.to_string()))?)
    } else {
        Box::new(raw)
    };
    let mut archive = tar::Archive::new(decoded.take(MAX_LAYER_BYTES));
    let entries = archive.entries().map_err(|e| err(e.to_string()))?;
    let (dir, file) = IMAGE_REFERENCES.split_once('/').expect("a path with a folder");
    let mut opaque = false;
    for entry in entries {
        let mut entry = entry.map_err(|e| err(e.to_string()))?;
        let path = entry.path().map_err(|e| err(e.to_string()))?.into_owned();
        let path = path.to_string_lossy();
        let path = path.trim_start_matches("./").trim_start_matches('/');
        if path == IMAGE_REFERENCES {
            if entry.size() > MAX_IMAGE_REFERENCES_BYTES {
                return Err(ComponentsError::TooLarge {
                    origin: format!("{origin} {IMAGE_REFERENCES}"),
                    limit: MAX_IMAGE_REFERENCES_BYTES,
                });
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_IMAGE_REFERENCES_BYTES)
                .read_to_end(&mut bytes)
                .map_err(|e| err(e.to_string()))?;
            return Ok(Found::File(bytes));
        }
        if path == format!("{dir}/.wh.{file}") || path == format!(".wh.{dir}") {
            return Ok(Found::Deleted);
        }
        // An opaque folder hides the lower layers' files, not this layer's own.
        opaque |= path == format!("{dir}/.wh..wh..opq");
    }
    Ok(if opaque { Found::Deleted } else { Found::Absent })
}
