//! `unpack push`: the verified `.sig` artifacts into a mirror registry, each under
//! `sha256-<digest>.sig` in the repository a node pulls the image from, byte for byte (the
//! manifest with its original media type, so its digest is unchanged), then read back and
//! compared. Destinations are given (`--to`, `--components-to`) or read from the cluster's
//! ImageDigestMirrorSet (`--idms`). The plan comes first: `create` (no tag there), `unchanged`
//! (the same bytes), `conflict` (other bytes: left alone unless `--force`, then `replace`).

use std::path::{Path, PathBuf};

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use super::SIG_MANIFEST_ACCEPT;
use crate::bundle::CheckedSigstore;
use crate::digest::Pullspec;
use crate::manifest::Role;
use crate::registry::{Registry, RegistryError, MANIFEST_ACCEPT};
use crate::sigstore::verify::MAX_MANIFEST_SIZE;

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot read {path}: {reason}")]
    Idms { path: PathBuf, reason: String },
    #[error("no ImageDigestMirrorSet entry mirrors {repository} (its .sig has nowhere to go; nothing was pushed)")]
    NoMirror { repository: String },
    #[error("{destination}: {reason}")]
    ReadBack { destination: String, reason: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(String),
    /// Some artifacts could not be pushed: the first failure, how many, and what the others
    /// did (recorded as the step's destination).
    #[error("{failed} of {total} .sig artifact(s) not pushed (what the others did is in the audit log); the first failure: {first}")]
    Partial {
        first: Box<PushError>,
        failed: usize,
        total: usize,
        destination: Box<crate::audit::Destination>,
    },
}

impl PushError {
    /// What was read back differing from what was pushed is a verification failure; the rest
    /// usage or I/O.
    pub fn exit_class(&self) -> crate::error::ExitClass {
        match self {
            PushError::ReadBack { .. } => crate::error::ExitClass::Verification,
            PushError::Partial { first, .. } => first.exit_class(),
            _ => crate::error::ExitClass::UsageOrIo,
        }
    }

    /// Where a push that failed part way went, and what it did there; `None` when nothing was
    /// sent.
    pub fn destination(&self) -> Option<&crate::audit::Destination> {
        match self {
            PushError::Partial { destination, .. } => Some(destination.as_ref()),
            _ => None,
        }
    }
}

/// The audit record's destination of a push: the repositories written to (or planned) and
/// every artifact there, with what was done.
pub fn destination_of(items: &[PushItem], dry_run: bool, force: bool) -> crate::audit::Destination {
    let mut repositories: Vec<String> = items
        .iter()
        .map(|i| {
            i.destination
                .split_once(":sha256-")
                .map_or(i.destination.as_str(), |d| d.0)
                .to_string()
        })
        .collect();
    repositories.sort();
    repositories.dedup();
    crate::audit::Destination::Registry {
        repositories,
        dry_run,
        force,
        artifacts: items
            .iter()
            .map(|i| crate::audit::PushedArtifact {
                repository: i.repository.clone(),
                digest: i.digest.clone(),
                signature: i.signature.clone(),
                destination: i.destination.clone(),
                action: i.action.name().to_string(),
                done: i.done,
            })
            .collect(),
    }
}

/// One `source → mirrors` entry of an ImageDigestMirrorSet.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Mirror {
    pub source: String,
    #[serde(default)]
    pub mirrors: Vec<String>,
}

/// Where artifacts go.
#[derive(Debug, Clone)]
pub enum Targets {
    /// Release images' `.sig`s to `release`; components' to `components` (default `release`).
    To {
        release: Pullspec,
        components: Option<Pullspec>,
    },
    /// Each to every mirror of its repository.
    Idms(Vec<Mirror>),
}

/// Read an ImageDigestMirrorSet file as oc-mirror writes it (one or more YAML documents).
pub fn read_idms(path: &Path) -> Result<Vec<Mirror>, PushError> {
    #[derive(Deserialize)]
    struct Doc {
        kind: Option<String>,
        spec: Option<Spec>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec {
        #[serde(default)]
        image_digest_mirrors: Vec<Mirror>,
    }
    let bad = |reason: String| PushError::Idms {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if meta.len() > 4 << 20 {
        return Err(bad("larger than 4 MiB".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for doc in text.split("\n---").map(|d| d.trim_start_matches("---")) {
        if doc.trim().is_empty() {
            continue;
        }
        let d: Doc = serde_saphyr::from_str(doc).map_err(|e| bad(crate::text::escape_name(&e.to_string())))?;
        if let Some(k) = d.kind.as_deref().filter(|k| *k != "ImageDigestMirrorSet") {
            return Err(bad(format!(
                "kind {:?} is not ImageDigestMirrorSet",
                crate::text::escape_name(k)
            )));
        }
        out.extend(d.spec.map(|s| s.image_digest_mirrors).unwrap_or_default());
    }
    if out.is_empty() {
        return Err(bad("no spec.imageDigestMirrors".into()));
    }
    for m in &out {
        for r in std::iter::once(&m.source).chain(&m.mirrors) {
            Pullspec::parse_repository(r).map_err(|e| bad(e.to_string()))?;
        }
    }
    Ok(out)
}

/// The repositories an artifact of `repository` goes to.
pub fn destinations(repository: &str, component: bool, targets: &Targets) -> Result<Vec<Pullspec>, PushError> {
    match targets {
        Targets::To { release, components } => Ok(vec![match (component, components) {
            (true, Some(c)) => c.clone(),
            _ => release.clone(),
        }]),
        Targets::Idms(list) => {
            // The most specific source: the repository itself, else its closest namespace.
            let best = list
                .iter()
                .filter(|m| repository == m.source || repository.starts_with(&format!("{}/", m.source)))
                .max_by_key(|m| m.source.len())
                .filter(|m| !m.mirrors.is_empty())
                .ok_or_else(|| PushError::NoMirror {
                    repository: repository.to_string(),
                })?;
            // `starts_with` above: the source's length is a character boundary.
            let rest = repository.get(best.source.len()..).unwrap_or_default();
            best.mirrors
                .iter()
                .map(|m| {
                    Pullspec::parse_repository(&format!("{m}{rest}")).map_err(|e| PushError::NoMirror {
                        repository: format!("{repository} ({e})"),
                    })
                })
                .collect()
        }
    }
}

/// What the plan does with one artifact at one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PushAction {
    /// No such tag there.
    Create,
    /// The same bytes are there.
    Unchanged,
    /// Other bytes are there, left alone.
    Conflict,
    /// Other bytes are there, replaced (`--force`).
    Replace,
}

impl PushAction {
    pub fn name(self) -> &'static str {
        match self {
            PushAction::Create => "create",
            PushAction::Unchanged => "unchanged",
            PushAction::Conflict => "conflict",
            PushAction::Replace => "replace",
        }
    }
}

/// One artifact at one destination: the plan, and what was done.
#[derive(Debug, Clone, Serialize)]
pub struct PushItem {
    /// The repository the cluster pulls the image as.
    pub repository: String,
    pub digest: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The `.sig` manifest's digest.
    pub signature: String,
    /// `registry/repository:sha256-<hex>.sig`.
    pub destination: String,
    pub action: PushAction,
    /// Whether the destination holds the image itself (a node pulls the image and its `.sig`
    /// from the same mirror); `None` when not looked at.
    pub image_present: Option<bool>,
    /// Blobs uploaded, and found already there.
    pub blobs_uploaded: usize,
    pub blobs_present: usize,
    /// Written and read back identical.
    pub done: bool,
}

/// Push options.
#[derive(Clone)]
pub struct PushOptions {
    pub registry: Registry,
    pub targets: Targets,
    pub dry_run: bool,
    pub force: bool,
    pub concurrency: usize,
}

/// Plan every artifact of the bundle at every destination (each looked at), then, unless a dry
/// run, push what the plan creates or replaces, and read it back. Items in artifact order.
pub async fn push(artifacts: &[CheckedSigstore], opts: &PushOptions) -> Result<Vec<PushItem>, PushError> {
    let mut work = Vec::new();
    for a in artifacts {
        for dest in destinations(
            &a.entry.image.repository,
            a.entry.image.component.is_some(),
            &opts.targets,
        )? {
            work.push((a, dest));
        }
    }
    let sem = tokio::sync::Semaphore::new(opts.concurrency.max(1));
    let results = join_all(work.iter().map(|(a, dest)| async {
        let _permit = sem.acquire().await.expect("the semaphore is never closed");
        one(a, dest, opts).await
    }))
    .await;
    // Every artifact is tried; a failure does not stop the others, and what they did is said.
    let total = results.len();
    let mut items = Vec::with_capacity(total);
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(i) => items.push(i),
            Err(e) => errors.push(e),
        }
    }
    match errors.into_iter().next() {
        None => Ok(items),
        Some(first) => Err(PushError::Partial {
            first: Box::new(first),
            failed: total - items.len(),
            total,
            destination: Box::new(destination_of(&items, opts.dry_run, opts.force)),
        }),
    }
}

/// One artifact at one destination.
async fn one(a: &CheckedSigstore, dest: &Pullspec, opts: &PushOptions) -> Result<PushItem, PushError> {
    let reg = &opts.registry;
    let e = &a.entry;
    let there = reg
        .manifest(dest, &e.tag, SIG_MANIFEST_ACCEPT, MAX_MANIFEST_SIZE as u64)
        .await;
    let action = match there {
        Ok(None) => PushAction::Create,
        Ok(Some(m)) if m.bytes == a.artifact.manifest => PushAction::Unchanged,
        Ok(Some(_)) | Err(RegistryError::TooLarge { .. }) if opts.force => PushAction::Replace,
        Ok(Some(_)) | Err(RegistryError::TooLarge { .. }) => PushAction::Conflict,
        Err(e) => return Err(e.into()),
    };
    let image_present = reg
        .manifest(
            dest,
            &e.image.digest.to_string(),
            MANIFEST_ACCEPT,
            MAX_MANIFEST_SIZE as u64,
        )
        .await
        .ok()
        .map(|m| m.is_some());
    let mut item = PushItem {
        repository: e.image.repository.clone(),
        digest: e.image.digest.to_string(),
        role: e.image.role,
        component: e.image.component.clone(),
        signature: e.signature.clone(),
        destination: format!("{}:{}", dest.repository_name(), e.tag),
        action,
        image_present,
        blobs_uploaded: 0,
        blobs_present: 0,
        done: false,
    };
    if opts.dry_run || !matches!(action, PushAction::Create | PushAction::Replace) {
        return Ok(item);
    }
    for (digest, bytes) in &a.artifact.blobs {
        if reg.has_blob(dest, digest).await? {
            item.blobs_present += 1;
        } else {
            reg.upload_blob(dest, digest, bytes).await?;
            item.blobs_uploaded += 1;
        }
    }
    let stored = reg
        .put_manifest(dest, &e.tag, &a.artifact.media_type, &a.artifact.manifest)
        .await?;
    let read_back = |reason: String| PushError::ReadBack {
        destination: item.destination.clone(),
        reason,
    };
    if let Some(d) = stored.filter(|d| *d != e.signature) {
        return Err(read_back(format!(
            "the registry stored digest {d}, not {} (it changed the manifest)",
            e.signature
        )));
    }
    match reg
        .manifest(dest, &e.tag, SIG_MANIFEST_ACCEPT, MAX_MANIFEST_SIZE as u64)
        .await?
    {
        None => return Err(read_back("the tag is not there after the push".into())),
        Some(m) if m.bytes != a.artifact.manifest => {
            return Err(read_back(format!(
                "read back {} bytes with sha256 {}, not the {} bytes pushed",
                m.bytes.len(),
                super::sha256_digest(&m.bytes),
                a.artifact.manifest.len()
            )))
        }
        Some(m) if simplified(&m.content_type) != simplified(&a.artifact.media_type) => {
            return Err(read_back(format!(
                "served as {:?}, pushed as {:?}",
                crate::text::escape_name(&m.content_type),
                a.artifact.media_type
            )))
        }
        Some(_) => {}
    }
    item.done = true;
    Ok(item)
}

/// A media type without parameters, lowercased, as a node compares it.
fn simplified(ct: &str) -> String {
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// [`push`] on a runtime of its own, for the binaries.
pub fn push_blocking(artifacts: &[CheckedSigstore], opts: &PushOptions) -> Result<Vec<PushItem>, PushError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| PushError::Runtime(e.to_string()))?;
    runtime.block_on(push(artifacts, opts))
}

/// A line of the plan or outcome for one item.
pub fn describe(item: &PushItem, dry_run: bool) -> String {
    let what = match &item.component {
        Some(c) => format!("{}@{} ({c})", item.repository, item.digest),
        None => format!("{}@{} ({})", item.repository, item.digest, item.role.name()),
    };
    let verb = match (item.action, dry_run, item.done) {
        (PushAction::Create, true, _) => "would create",
        (PushAction::Replace, true, _) => "would replace",
        (PushAction::Create, false, true) => "created",
        (PushAction::Replace, false, true) => "replaced",
        (PushAction::Create | PushAction::Replace, false, false) => "not pushed",
        (PushAction::Unchanged, _, _) => "unchanged",
        (PushAction::Conflict, _, _) => "conflict",
    };
    let conflict = match item.action {
        PushAction::Conflict => "; a different .sig is there, left alone (--force replaces it)",
        _ => "",
    };
    let image = match item.image_present {
        Some(false) => "; the image itself is not in this repository (a node pulls both from the mirror)",
        _ => "",
    };
    format!(
        "{verb:9} {} <- {what} {}{conflict}{image}",
        item.destination, item.signature
    )
}
