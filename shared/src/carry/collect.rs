//! `pack --sigstore`: for each release, the `.sig` artifact of its digest from its repository
//! — for a multi-arch release (an index) also those of each instance — and with components, the
//! same for every image the payload's `image-references` names; each fetched byte for byte
//! (manifest as served, config, every layer, each under a size cap before it is read) and
//! judged as a node judges it. Only accepted artifacts are carried.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use super::components::{self, ComponentRef, ComponentsError};
use super::{config_digest, judge, layer_digests, refused, Artifact, SIG_MANIFEST_ACCEPT};
use crate::digest::{Digest, Pullspec};
use crate::manifest::{Role, SigstoreImage};
use crate::registry::{Registry, RegistryError, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES};
use crate::sigstore::verify::{MAX_MANIFEST_SIZE, MAX_SIGNATURE_SIZE};
use crate::sigstore::{sigstore_tag, ClusterImagePolicy, Verdict};

/// The most instances of one index whose `.sig` is fetched (a release has 4).
pub const MAX_INSTANCES: usize = 64;

/// Why collecting stopped (a failure of the run, not of one image).
#[derive(Debug, thiserror::Error)]
pub enum CarryError {
    /// The registry could not be reached (after retries).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Components(#[from] ComponentsError),
}

impl CarryError {
    /// A component list over its bounds is refused content (exit 1); the rest I/O (exit 2).
    pub fn exit_class(&self) -> crate::error::ExitClass {
        match self {
            CarryError::Components(c) => c.exit_class(),
            CarryError::Registry(_) => crate::error::ExitClass::UsageOrIo,
        }
    }
}

/// Where the component list comes from.
#[derive(Debug, Clone)]
pub enum Components {
    /// Release images only.
    None,
    /// `release-manifests/image-references` of each release image.
    FromRelease,
    /// A list read beforehand (`--image-references FILE`), for the one release packed.
    Given(Vec<ComponentRef>),
}

/// A callback told about each image as it is judged.
pub type Progress = Arc<dyn Fn(&ArtifactOutcome) + Send + Sync>;

/// How to collect.
#[derive(Clone)]
pub struct CollectOptions {
    pub registry: Registry,
    /// The keys, identity rule and scopes nodes apply (default: the `openshift` policy).
    pub policy: ClusterImagePolicy,
    /// The repository the cluster pulls releases as (`quay.io/openshift-release-dev/ocp-release`).
    pub release_identity: Pullspec,
    pub components: Components,
    /// Where component `.sig`s are fetched from, when not from the repository
    /// `image-references` names.
    pub components_source: Option<Pullspec>,
    /// Registry requests at once.
    pub concurrency: usize,
    pub progress: Option<Progress>,
}

/// What happened to one image's `.sig`.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactOutcome {
    #[serde(flatten)]
    pub image: SigstoreImage,
    /// The node's verdict (`valid`, `no-signature`, …), `fetch-failed` when the image or its
    /// `.sig` could not be read, or `uncarryable` when a node accepts it but it cannot be
    /// carried whole.
    pub verdict: String,
    pub reason: String,
    /// The `.sig` manifest's digest, when there was one.
    pub signature: Option<String>,
    pub key_fingerprint: Option<String>,
    pub identity: Option<String>,
    #[serde(skip)]
    pub artifact: Option<Artifact>,
}

impl ArtifactOutcome {
    /// Whether it goes into the bundle.
    pub fn carried(&self) -> bool {
        self.verdict == "valid" && self.artifact.is_some()
    }
}

/// One release to collect for: its digest and the repository it is fetched from.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub release: Digest,
    pub source: Pullspec,
}

struct Ctx {
    opts: CollectOptions,
    sem: tokio::sync::Semaphore,
}

/// An image to look at: where from, as what the cluster pulls it, and its place.
#[derive(Clone)]
struct Target {
    source: Pullspec,
    identity: String,
    digest: Digest,
    release: Digest,
    component: Option<String>,
}

/// Collect and judge the `.sig` artifacts of every release (and component), concurrently;
/// sorted by repository and digest, each image once.
pub async fn collect(wanted: &[Wanted], opts: &CollectOptions) -> Result<Vec<ArtifactOutcome>, CarryError> {
    let ctx = Arc::new(Ctx {
        opts: opts.clone(),
        sem: tokio::sync::Semaphore::new(opts.concurrency.max(1)),
    });
    let runs = wanted.iter().map(|w| release(ctx.clone(), w.clone()));
    let mut out = Vec::new();
    for r in join_all(runs).await {
        out.extend(r?);
    }
    out.sort_by(|a, b| (&a.image.repository, a.image.digest).cmp(&(&b.image.repository, b.image.digest)));
    out.dedup_by(|b, a| a.image.repository == b.image.repository && a.image.digest == b.image.digest);
    Ok(out)
}

/// One release: its image(s), then its components.
async fn release(ctx: Arc<Ctx>, w: Wanted) -> Result<Vec<ArtifactOutcome>, CarryError> {
    let target = Target {
        source: w.source.clone(),
        identity: ctx.opts.release_identity.repository_name(),
        digest: w.release,
        release: w.release,
        component: None,
    };
    let (mut out, manifest) = image(&ctx, &target).await?;
    let refs = match (&ctx.opts.components, &manifest) {
        (Components::None, _) => return Ok(out),
        (Components::Given(list), _) => list.clone(),
        (Components::FromRelease, None) => return Ok(out),
        (Components::FromRelease, Some(m)) => {
            let _permit = ctx.sem.acquire().await.expect("the semaphore is never closed");
            components::from_release(&ctx.opts.registry, &w.source, &w.release, m).await?
        }
    };
    let targets = refs.into_iter().map(|c| Target {
        source: ctx
            .opts
            .components_source
            .clone()
            .unwrap_or_else(|| c.repository.clone()),
        identity: c.repository.repository_name(),
        digest: c.digest,
        release: w.release,
        component: Some(c.name),
    });
    let ctx2 = ctx.clone();
    let done = join_all(targets.map(|t| {
        let ctx = ctx2.clone();
        async move { image(&ctx, &t).await.map(|(o, _)| o) }
    }))
    .await;
    for d in done {
        out.extend(d?);
    }
    Ok(out)
}

/// A manifest the image's own digest was read as, for finding its components.
pub(crate) struct ImageManifest {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// The image at `t`: its manifest (an index brings its instances), then the `.sig` of each.
/// Returns the outcomes and the manifest read.
async fn image(ctx: &Ctx, t: &Target) -> Result<(Vec<ArtifactOutcome>, Option<ImageManifest>), CarryError> {
    let reg = &ctx.opts.registry;
    let fetched = {
        let _permit = ctx.sem.acquire().await.expect("the semaphore is never closed");
        reg.manifest(&t.source, &t.digest.to_string(), MANIFEST_ACCEPT, MAX_MANIFEST_BYTES)
            .await
    };
    let at = format!("{}@{}", t.source.repository_name(), t.digest);
    let m = match fetched {
        Ok(Some(m)) => m,
        Ok(None) => {
            let o = unread(ctx, t, Role::Image, format!("{at}: no such image"));
            return Ok((vec![o], None));
        }
        Err(e) if run_fatal(&e) => return Err(e.into()),
        Err(e) => return Ok((vec![unread(ctx, t, Role::Image, e.to_string())], None)),
    };
    if Digest::of(&m.bytes) != t.digest {
        let o = unread(
            ctx,
            t,
            Role::Image,
            format!(
                "{at}: the registry served a manifest of another digest ({})",
                Digest::of(&m.bytes)
            ),
        );
        return Ok((vec![o], None));
    }
    let instances = index_instances(&m.bytes, &m.content_type);
    let mut jobs = Vec::new();
    match &instances {
        None => jobs.push((t.digest, Role::Image, None)),
        Some(list) => {
            jobs.push((t.digest, Role::Index, None));
            for (d, platform) in list.iter().take(MAX_INSTANCES) {
                jobs.push((*d, Role::Instance, Some(platform.clone())));
            }
        }
    }
    let outcomes = join_all(
        jobs.into_iter()
            .map(|(d, role, platform)| signature(ctx, t, d, role, platform)),
    )
    .await;
    let mut out = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        let o = o?;
        if let Some(p) = &ctx.opts.progress {
            p(&o);
        }
        out.push(o);
    }
    if let Some(list) = instances.filter(|l| l.len() > MAX_INSTANCES) {
        let o = unread(
            ctx,
            t,
            Role::Index,
            format!("{at}: an index of {} instances, over the limit of {MAX_INSTANCES}; the first {MAX_INSTANCES} were looked at", list.len()),
        );
        out.push(o);
    }
    let manifest = ImageManifest {
        bytes: m.bytes,
        content_type: m.content_type,
    };
    Ok((out, Some(manifest)))
}

/// The instances of an index or manifest list (`None` for an image manifest): digest and
/// `os/architecture[/variant]`.
pub(crate) fn index_instances(body: &[u8], content_type: &str) -> Option<Vec<(Digest, String)>> {
    #[derive(Deserialize)]
    struct Index {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<Vec<Entry>>,
    }
    #[derive(Deserialize)]
    struct Entry {
        digest: String,
        platform: Option<Platform>,
    }
    #[derive(Deserialize)]
    struct Platform {
        os: Option<String>,
        architecture: Option<String>,
        variant: Option<String>,
    }
    let ix: Index = serde_json::from_slice(body).ok()?;
    let is_index = |t: &str| t.contains("image.index") || t.contains("manifest.list");
    let declared = is_index(content_type) || ix.media_type.as_deref().is_some_and(is_index);
    let list = ix.manifests?;
    if !declared && list.is_empty() {
        return None;
    }
    Some(
        list.into_iter()
            .filter_map(|e| {
                let d = Digest::parse(&e.digest).ok()?;
                let p = e.platform.map(|p| {
                    let mut s = format!("{}/{}", p.os.unwrap_or_default(), p.architecture.unwrap_or_default());
                    if let Some(v) = p.variant.filter(|v| !v.is_empty()) {
                        s.push('/');
                        s.push_str(&v);
                    }
                    s
                });
                Some((d, p.unwrap_or_else(|| "unknown".into())))
            })
            .collect(),
    )
}

/// The image facts of an outcome.
fn image_of(ctx: &Ctx, t: &Target, digest: Digest, role: Role, platform: Option<String>) -> SigstoreImage {
    let required = role != Role::Index && ctx.opts.policy.applies_to(&format!("{}@{digest}", t.identity));
    SigstoreImage {
        repository: t.identity.clone(),
        digest,
        release: t.release,
        role,
        platform: platform.map(|p| crate::text::escape_name(&p)),
        component: t.component.clone(),
        required,
        source: t.source.repository_name(),
    }
}

/// An image whose manifest could not be read: its `.sig` cannot be looked up.
fn unread(ctx: &Ctx, t: &Target, role: Role, reason: String) -> ArtifactOutcome {
    let o = ArtifactOutcome {
        image: image_of(ctx, t, t.digest, role, None),
        verdict: "fetch-failed".into(),
        reason: crate::text::escape_name(&reason),
        signature: None,
        key_fingerprint: None,
        identity: None,
        artifact: None,
    };
    if let Some(p) = &ctx.opts.progress {
        p(&o);
    }
    o
}

/// The `.sig` of `digest` (of the image `t`, pulled as `t.digest`): fetched, judged, and when
/// accepted made whole (its config too).
async fn signature(
    ctx: &Ctx,
    t: &Target,
    digest: Digest,
    role: Role,
    platform: Option<String>,
) -> Result<ArtifactOutcome, CarryError> {
    let reg = &ctx.opts.registry;
    let mut out = ArtifactOutcome {
        image: image_of(ctx, t, digest, role, platform),
        verdict: String::new(),
        reason: String::new(),
        signature: None,
        key_fingerprint: None,
        identity: None,
        artifact: None,
    };
    let tag = sigstore_tag(&digest.to_string()).expect("a Digest is valid");
    let _permit = ctx.sem.acquire().await.expect("the semaphore is never closed");
    let fetched = reg
        .manifest(&t.source, &tag, SIG_MANIFEST_ACCEPT, MAX_MANIFEST_SIZE as u64)
        .await;
    let body = match fetched {
        Ok(b) => b,
        Err(e) if run_fatal(&e) => return Err(e.into()),
        Err(RegistryError::TooLarge { .. }) => {
            let r = refused(
                Verdict::TooLarge,
                format!("reading manifest body: exceeded maximum allowed size of {MAX_MANIFEST_SIZE} bytes"),
            );
            return Ok(settle(out, r, None));
        }
        // Any other registry error refuses the image on a node.
        Err(e) => {
            out.verdict = "fetch-failed".into();
            out.reason = crate::text::escape_name(&e.to_string());
            return Ok(out);
        }
    };
    let Some(body) = body else {
        let r = judge(
            None,
            &BTreeMap::new(),
            &t.identity,
            &t.digest,
            &digest,
            &ctx.opts.policy.trust,
        );
        return Ok(settle(out, r, None));
    };
    let mut artifact = Artifact {
        manifest: body.bytes,
        media_type: body.content_type,
        blobs: BTreeMap::new(),
    };
    out.signature = Some(artifact.digest());
    // Every layer, in order, until one cannot be read (a node fetches them all first).
    let mut failed = BTreeMap::new();
    for d in layer_digests(&artifact.manifest) {
        if crate::sigstore::gotext_validate_digest(&d).is_err() {
            break; // the verdict names it
        }
        match reg.blob(&t.source, &d, MAX_SIGNATURE_SIZE as u64).await {
            Ok(b) => {
                artifact.blobs.insert(d, b);
            }
            Err(e) if run_fatal(&e) => return Err(e.into()),
            Err(RegistryError::TooLarge { .. }) => {
                let r = refused(
                    Verdict::TooLarge,
                    format!("reading blob {d}: exceeded maximum allowed size of {MAX_SIGNATURE_SIZE} bytes"),
                );
                return Ok(settle(out, r, None));
            }
            Err(e) => {
                failed.insert(d, e.to_string());
                break;
            }
        }
    }
    let report = judge(
        Some(&artifact),
        &failed,
        &t.identity,
        &t.digest,
        &digest,
        &ctx.opts.policy.trust,
    );
    if !report.verdict.is_valid() {
        return Ok(settle(out, report, None));
    }
    // Accepted: carried whole, or not at all.
    carry_whole(reg, t, out, report, artifact).await
}

/// An accepted artifact, carried whole (its blobs by sha256 and its config blob) or not at all
/// (uncarryable, said why).
async fn carry_whole(
    reg: &Registry,
    t: &Target,
    out: ArtifactOutcome,
    report: crate::sigstore::Report,
    mut artifact: Artifact,
) -> Result<ArtifactOutcome, CarryError> {
    if let Some(d) = artifact.blobs.keys().find(|d| !d.starts_with("sha256:")) {
        let why = format!("layer {d} is not addressed by sha256; sigbundle carries sha256 blobs only");
        return Ok(uncarryable(settle(out, report, None), why));
    }
    if let Some(config) = config_digest(&artifact.manifest) {
        if !config.starts_with("sha256:") || crate::digest::Digest::parse(&config).is_err() {
            let why = format!("config {config:?} is not a sha256 digest");
            return Ok(uncarryable(settle(out, report, None), why));
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = artifact.blobs.entry(config.clone()) {
            match reg.blob(&t.source, &config, MAX_SIGNATURE_SIZE as u64).await {
                Ok(b) if super::sha256_digest(&b) == config => {
                    slot.insert(b);
                }
                Ok(_) => {
                    let why = format!("config blob {config} does not match its digest");
                    return Ok(uncarryable(settle(out, report, None), why));
                }
                Err(e) if run_fatal(&e) => return Err(e.into()),
                Err(e) => {
                    let why = format!("config blob: {e}");
                    return Ok(uncarryable(settle(out, report, None), why));
                }
            }
        }
    }
    Ok(settle(out, report, Some(artifact)))
}

/// The outcome with the node's verdict (and the artifact when accepted).
fn settle(mut out: ArtifactOutcome, r: crate::sigstore::Report, artifact: Option<Artifact>) -> ArtifactOutcome {
    out.verdict = r.verdict.name().to_string();
    out.reason = crate::text::escape_name(&crate::text::truncate_chars(&r.reason, 500));
    out.key_fingerprint = r.key_fingerprint;
    out.identity = r.identity.map(|i| crate::text::escape_name(&i));
    out.artifact = artifact.filter(|_| r.verdict.is_valid());
    out
}

/// A `.sig` a node accepts that cannot be carried whole.
fn uncarryable(mut out: ArtifactOutcome, why: String) -> ArtifactOutcome {
    out.verdict = "uncarryable".into();
    out.reason = crate::text::escape_name(&why);
    out.artifact = None;
    out
}

/// A registry failure that ends the run rather than one image's look-up: the registry cannot be
/// reached (after retries), credentials are missing or refused (401, 403), or the client
/// cannot be set up, or it answers outside the protocol (a token refused, a bad header); as
/// tag resolution treats them (exit 2).
fn run_fatal(e: &RegistryError) -> bool {
    match e {
        RegistryError::Status { status, .. } => matches!(status, 401 | 403),
        RegistryError::Network { .. }
        | RegistryError::AuthFile { .. }
        | RegistryError::Ca { .. }
        | RegistryError::Client { .. }
        | RegistryError::Protocol { .. } => true,
        RegistryError::TooLarge { .. } => false,
    }
}
