//! Turning what a user names into release digests: digests, pullspecs (by digest or tag),
//! bare versions (`4.15.0` + arch → a tag of the release repo), and update-service channels
//! (the graph API's nodes within a version range), from arguments or a list file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::digest::{Digest, DigestError, Pullspec};
use crate::graph::{
    fetch_graph, read_saved, select_nodes, shortest_path, version_in, GraphError, GraphSource, UpdatePath,
    DEFAULT_GRAPH_URL,
};
use crate::registry::{Registry, RegistryError};

/// Release versions (`4.15.0`, `4.16.0-rc.1`), compared by semver rules.
pub use semver::Version;

/// Where OCP release images live.
pub const DEFAULT_RELEASE_REPO: &str = "quay.io/openshift-release-dev/ocp-release";

/// Why a name could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{input:?} is not a digest, pullspec, version or channel: {reason}")]
    BadInput { input: String, reason: String },
    #[error("{path}:{line}: {source}")]
    InFile {
        path: PathBuf,
        line: usize,
        source: Box<ResolveError>,
    },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("channel {channel} has no release between {min} and {max}")]
    EmptyChannel { channel: String, min: String, max: String },
    #[error("the update path oc-mirror adds between channels, from {from} to {to}: {reason}")]
    UpgradePath { from: String, to: String, reason: String },
    /// An oc-mirror ImageSetConfiguration that cannot be read as sigbundle reads it.
    #[error("{path}: {reason}")]
    Isc { path: PathBuf, reason: String },
    #[error("version {version}: graph file {path}: {reason}")]
    VersionFromGraph {
        version: String,
        path: PathBuf,
        reason: String,
    },
}

/// One thing the user asked for, resolved to a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// What the user typed.
    pub name: String,
    pub digest: Digest,
    /// The repository it was named in (a pullspec's, or `--release-repo` for a version);
    /// `None` for a bare digest or a channel node.
    pub repository: Option<Pullspec>,
}

/// A release architecture, as in release tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
    Ppc64le,
    S390x,
    Multi,
}

impl Arch {
    /// Parse a tag arch name.
    pub fn parse(s: &str) -> Option<Arch> {
        Some(match s {
            "x86_64" | "amd64" => Arch::X86_64,
            "aarch64" | "arm64" => Arch::Aarch64,
            "ppc64le" => Arch::Ppc64le,
            "s390x" => Arch::S390x,
            "multi" => Arch::Multi,
            _ => return None,
        })
    }

    /// The name in release tags (`4.15.0-x86_64`).
    pub fn tag_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
            Arch::Multi => "multi",
        }
    }

    /// The name the update service uses (`amd64`, `arm64`, …).
    pub fn graph_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
            Arch::Multi => "multi",
        }
    }
}

/// One thing a user named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    Digest(Digest),
    Pullspec(Pullspec),
    Version(semver::Version),
    Channel(ChannelSpec),
    /// The releases oc-mirror adds between several channels of one ImageSetConfiguration (one
    /// architecture): the update path from the lowest first release to the highest last one.
    UpgradePath(Vec<ChannelSpec>),
}

/// A channel to take releases from, and which of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: String,
    /// The architecture of its graph; `None`: `--arch`.
    pub arch: Option<Arch>,
    /// Which releases; `None`: the global `--min-version`/`--max-version`.
    pub pick: Option<Pick>,
    /// Only those on the shortest update path between the ends of `pick` (oc-mirror's
    /// `shortestPath`).
    pub shortest_path: bool,
}

impl ChannelSpec {
    /// A channel named on the command line or in a list file (global arch and range).
    pub fn named(name: &str) -> ChannelSpec {
        ChannelSpec {
            name: name.to_string(),
            arch: None,
            pick: None,
            shortest_path: false,
        }
    }
}

/// Which releases of a channel's graph are taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// Every node within the inclusive range (an absent bound is open).
    Range {
        min: Option<semver::Version>,
        max: Option<semver::Version>,
    },
    /// Only the highest version in the channel (oc-mirror's default without a range).
    Head,
}

impl Spec {
    /// `sha256:<hex>`, a pullspec, a version `X.Y.Z[-pre]`, or `channel:<name>`.
    pub fn parse(input: &str) -> Result<Spec, ResolveError> {
        let bad = |reason: String| ResolveError::BadInput {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        if let Some(c) = s.strip_prefix("channel:") {
            return valid_channel(c)
                .map(|c| Spec::Channel(ChannelSpec::named(c)))
                .map_err(bad);
        }
        // The input is quoted once, by `bad`; a near miss says what was meant.
        let reason = |e: DigestError| match e {
            DigestError::DidYouMean { reason, suggestion, .. } => bad(format!("{reason}; did you mean {suggestion}?")),
            other => bad(other.to_string()),
        };
        if let Some(e) = Digest::near_miss(s) {
            return Err(reason(e));
        }
        if s.starts_with("sha256:") {
            return Digest::parse(s).map(Spec::Digest).map_err(reason);
        }
        if s.contains('/') {
            return Pullspec::parse(s).map(Spec::Pullspec).map_err(reason);
        }
        if s.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            return semver::Version::parse(s)
                .map(Spec::Version)
                .map_err(|e| bad(format!("not a version X.Y.Z: {e}")));
        }
        Err(bad(
            "expected sha256:<hex>, registry/repo[:tag][@sha256:<hex>], a version like 4.15.0, or channel:<name>"
                .into(),
        ))
    }
}

pub(crate) fn valid_channel(c: &str) -> Result<&str, String> {
    if !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        Ok(c)
    } else {
        Err(format!("bad channel name {c:?}"))
    }
}

/// Read a list file: one spec per line, `#` comments and blank lines ignored. Returns
/// (line number, text, spec).
pub fn read_list(path: &Path) -> Result<Vec<(usize, String, Spec)>, ResolveError> {
    let text = std::fs::read_to_string(path).map_err(|source| ResolveError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let spec = Spec::parse(line).map_err(|e| ResolveError::InFile {
            path: path.to_path_buf(),
            line: i + 1,
            source: Box::new(e),
        })?;
        out.push((i + 1, line.to_string(), spec));
    }
    Ok(out)
}

/// How to resolve.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    pub arch: Arch,
    pub release_repo: String,
    pub graph: GraphSource,
    pub min_version: Option<semver::Version>,
    pub max_version: Option<semver::Version>,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            arch: Arch::X86_64,
            release_repo: DEFAULT_RELEASE_REPO.to_string(),
            graph: GraphSource::Url(DEFAULT_GRAPH_URL.to_string()),
            min_version: None,
            max_version: None,
        }
    }
}

/// Resolve every spec to requests (one per digest per name), concurrently where it goes over
/// the network.
pub async fn resolve_all(
    specs: &[(String, Spec)],
    registry: &Registry,
    http: &reqwest::Client,
    opts: &ResolveOptions,
) -> Result<Vec<Request>, ResolveError> {
    let mut out = Vec::new();
    let mut lookups = tokio::task::JoinSet::new();
    // Each channel is asked for once per architecture, whichever ranges are taken from it.
    let mut graphs = Graphs::new();
    let mut seen: Vec<&ChannelSpec> = Vec::new();
    for (name, spec) in specs {
        match spec {
            Spec::Digest(d) => out.push(Request {
                name: name.clone(),
                digest: *d,
                repository: None,
            }),
            Spec::Pullspec(p) if p.digest.is_some() => out.push(Request {
                name: name.clone(),
                digest: p.digest.expect("checked"),
                repository: Some(repository_of(p)),
            }),
            Spec::Pullspec(p) => {
                let (r, p, name) = (registry.clone(), p.clone(), name.clone());
                lookups.spawn(async move {
                    r.resolve(&p).await.map(|digest| Request {
                        name,
                        digest,
                        repository: Some(repository_of(&p)),
                    })
                });
            }
            Spec::Version(v) if matches!(opts.graph, GraphSource::File { .. }) => {
                out.push(version_from_file(name, v, opts)?);
            }
            Spec::Version(v) => {
                let tag = format!("{}:{v}-{}", opts.release_repo, opts.arch.tag_name());
                let p = Pullspec::parse(&tag).map_err(|e| ResolveError::BadInput {
                    input: name.clone(),
                    reason: format!("--release-repo {}: {e}", opts.release_repo),
                })?;
                let (r, name) = (registry.clone(), name.clone());
                lookups.spawn(async move {
                    r.resolve(&p).await.map(|digest| Request {
                        name,
                        digest,
                        repository: Some(repository_of(&p)),
                    })
                });
            }
            Spec::Channel(c) => {
                if seen.contains(&c) {
                    continue;
                }
                seen.push(c);
                let nodes = channel_nodes(&mut graphs, http, opts, c).await?;
                for (v, d) in nodes {
                    out.push(Request {
                        name: format!("channel:{}@{v}", c.name),
                        digest: d,
                        repository: None,
                    });
                }
            }
            Spec::UpgradePath(channels) => {
                for (channel, v, d) in upgrade_path(&mut graphs, http, opts, channels).await? {
                    out.push(Request {
                        name: format!("channel:{channel}@{v}"),
                        digest: d,
                        repository: None,
                    });
                }
            }
        }
    }
    while let Some(r) = lookups.join_next().await {
        out.push(r.expect("a resolve task panicked")?);
    }
    Ok(out)
}

/// The releases a channel gives: its range, its head, or the shortest path between its ends.
async fn channel_nodes(
    graphs: &mut Graphs,
    http: &reqwest::Client,
    opts: &ResolveOptions,
    c: &ChannelSpec,
) -> Result<Vec<(semver::Version, Digest)>, ResolveError> {
    let arch = c.arch.unwrap_or(opts.arch).graph_name();
    Ok(if c.shortest_path {
        let (from, to) = bounds(graphs, http, opts, c, arch).await?;
        let p = path_in(graphs, http, opts, &c.name, arch, &from, &to).await?;
        let mut nodes = p.path;
        nodes.extend([p.current, p.requested]);
        nodes
    } else {
        let (bytes, source_name) = graph(graphs, http, opts, &c.name, arch).await?;
        let (min, max, head) = match &c.pick {
            None => (opts.min_version.as_ref(), opts.max_version.as_ref(), false),
            Some(Pick::Range { min, max }) => (min.as_ref(), max.as_ref(), false),
            Some(Pick::Head) => (None, None, true),
        };
        let mut nodes = select_nodes(
            bytes,
            &c.name,
            source_name,
            matches!(opts.graph, GraphSource::File { .. }),
            min,
            max,
        )?;
        if head {
            // Sorted by version: the head is the last.
            nodes = nodes.pop().into_iter().collect();
        }
        if nodes.is_empty() {
            let show = |v: Option<&semver::Version>| v.map_or("any".to_string(), |v| v.to_string());
            return Err(ResolveError::EmptyChannel {
                channel: c.name.clone(),
                min: show(min),
                max: show(max),
            });
        }
        nodes
    })
}

/// A version's release from the saved graph answer `--graph-file` names.
fn version_from_file(name: &str, v: &semver::Version, opts: &ResolveOptions) -> Result<Request, ResolveError> {
    let GraphSource::File { path, arch } = &opts.graph else {
        unreachable!("called for a graph file")
    };
    let bad = |reason: String| ResolveError::VersionFromGraph {
        version: v.to_string(),
        path: path.clone(),
        reason,
    };
    let (bytes, source) = read_saved(path, arch.as_deref(), opts.arch.graph_name()).map_err(bad)?;
    let digest = version_in(&bytes, &source, v)?
        .ok_or_else(|| bad("not a release in it (versions resolve from the graph file when one is given)".into()))?;
    Ok(Request {
        name: name.to_string(),
        digest,
        repository: None,
    })
}

/// The repository of a pullspec, without tag or digest.
fn repository_of(p: &Pullspec) -> Pullspec {
    Pullspec {
        tag: None,
        digest: None,
        ..p.clone()
    }
}

/// Channel graphs fetched so far, by (channel, update-service arch).
type Graphs = BTreeMap<(String, &'static str), (Vec<u8>, String)>;

/// A channel's graph (its bytes and where they came from), fetched once per architecture.
async fn graph<'g>(
    graphs: &'g mut Graphs,
    http: &reqwest::Client,
    opts: &ResolveOptions,
    channel: &str,
    arch: &'static str,
) -> Result<&'g (Vec<u8>, String), ResolveError> {
    let key = (channel.to_string(), arch);
    if !graphs.contains_key(&key) {
        let fetched = fetch_graph(http, &opts.graph, channel, arch).await?;
        graphs.insert(key.clone(), fetched);
    }
    Ok(&graphs[&key])
}

/// Every release of a channel, sorted by version; an error when it has none.
async fn versions(
    graphs: &mut Graphs,
    http: &reqwest::Client,
    opts: &ResolveOptions,
    channel: &str,
    arch: &'static str,
) -> Result<Vec<(semver::Version, Digest)>, ResolveError> {
    let check = matches!(opts.graph, GraphSource::File { .. });
    let (bytes, source_name) = graph(graphs, http, opts, channel, arch).await?;
    let all = select_nodes(bytes, channel, source_name, check, None, None)?;
    if all.is_empty() {
        return Err(ResolveError::EmptyChannel {
            channel: channel.to_string(),
            min: "any".into(),
            max: "any".into(),
        });
    }
    Ok(all)
}

/// The highest release of a channel.
async fn head(
    graphs: &mut Graphs,
    http: &reqwest::Client,
    opts: &ResolveOptions,
    channel: &str,
    arch: &'static str,
) -> Result<semver::Version, ResolveError> {
    let all = versions(graphs, http, opts, channel, arch).await?;
    Ok(all.last().expect("not empty").0.clone())
}

/// The two ends of a channel's pick, as oc-mirror fills them in (`resolveChannelVersions`):
/// an absent maxVersion is the head, an absent minVersion the lowest release, or the head
/// when neither is given (heads only).
async fn bounds(
    graphs: &mut Graphs,
    http: &reqwest::Client,
    opts: &ResolveOptions,
    c: &ChannelSpec,
    arch: &'static str,
) -> Result<(semver::Version, semver::Version), ResolveError> {
    let all = versions(graphs, http, opts, &c.name, arch).await?;
    let first = all.first().expect("not empty").0.clone();
    let last = all.last().expect("not empty").0.clone();
    Ok(match &c.pick {
        Some(Pick::Head) => (last.clone(), last),
        Some(Pick::Range { min, max }) => (min.clone().unwrap_or(first), max.clone().unwrap_or(last)),
        None => (
            opts.min_version.clone().unwrap_or(first),
            opts.max_version.clone().unwrap_or(last),
        ),
    })
}

/// The shortest update path between two releases of one channel.
async fn path_in(
    graphs: &mut Graphs,
    http: &reqwest::Client,
    opts: &ResolveOptions,
    channel: &str,
    arch: &'static str,
    from: &semver::Version,
    to: &semver::Version,
) -> Result<UpdatePath, ResolveError> {
    let check = matches!(opts.graph, GraphSource::File { .. });
    let (bytes, source_name) = graph(graphs, http, opts, channel, arch).await?;
    Ok(shortest_path(bytes, channel, source_name, check, from, to)?)
}

/// What oc-mirror v2 adds for several channels of one architecture (`getCrossChannelDownloads`,
/// `CalculateUpgrades` and `calculate` in `internal/pkg/release/cincinnati.go` and
/// `core-cincinnati.go`): from the channel whose first release is lowest to the one whose last
/// is highest, the shortest path to the head of the first, then channel by channel
/// (`<prefix>-X.Y+1`, the prefix of the first) up to the last. Each release with the channel
/// whose graph gave it.
async fn upgrade_path(
    graphs: &mut Graphs,
    http: &reqwest::Client,
    opts: &ResolveOptions,
    channels: &[ChannelSpec],
) -> Result<Vec<(String, semver::Version, Digest)>, ResolveError> {
    let Some(first) = channels.first() else {
        return Ok(Vec::new());
    };
    let arch = first.arch.unwrap_or(opts.arch).graph_name();
    let mut ends = Vec::new();
    for c in channels {
        ends.push((c.name.clone(), bounds(graphs, http, opts, c, arch).await?));
    }
    let (src, (start, _)) = ends
        .iter()
        .min_by(|a, b| a.1 .0.cmp(&b.1 .0))
        .expect("not empty")
        .clone();
    let (tgt, (_, req)) = ends
        .iter()
        .rev()
        .max_by(|a, b| a.1 .1.cmp(&b.1 .1))
        .expect("not empty")
        .clone();
    let bad = |reason: String| ResolveError::UpgradePath {
        from: format!("{src}@{start}"),
        to: format!("{tgt}@{req}"),
        reason,
    };
    let mut out = Vec::new();
    let mut take = |channel: &str, nodes: Vec<(semver::Version, Digest)>| {
        out.extend(nodes.into_iter().map(|(v, d)| (channel.to_string(), v, d)));
    };
    if src == tgt {
        let p = path_in(graphs, http, opts, &tgt, arch, &start, &req).await?;
        take(&tgt, [p.current, p.requested].into_iter().chain(p.path).collect());
        return Ok(out);
    }
    let (s, t, prefix) = channel_minors(&src, &tgt).map_err(bad)?;
    if s == t {
        let in_target = versions(graphs, http, opts, &tgt, arch)
            .await?
            .iter()
            .any(|(v, _)| *v == start);
        let from = if in_target { &start } else { &req };
        let p = path_in(graphs, http, opts, &tgt, arch, from, &req).await?;
        take(&tgt, [p.current, p.requested].into_iter().chain(p.path).collect());
        return Ok(out);
    }
    if t.0 != s.0 || t.1 < s.1 {
        return Err(bad(format!(
            "oc-mirror steps from {}.{} to {}.{} one minor version at a time and never gets there",
            s.0, s.1, t.0, t.1
        )));
    }
    // The first channel up to its head (the head itself only when a path reaches it).
    let latest = head(graphs, http, opts, &src, arch).await?;
    let p = path_in(graphs, http, opts, &src, arch, &start, &latest).await?;
    take(&src, std::iter::once(p.current).chain(p.path).collect());
    // Then one minor version at a time.
    let mut from = latest;
    let mut minor = s.1;
    loop {
        minor += 1;
        let at_target = minor == t.1;
        let (channel, to) = if at_target {
            (tgt.clone(), req.clone())
        } else {
            let c = format!("{prefix}-{}.{minor}", s.0);
            let h = head(graphs, http, opts, &c, arch).await?;
            (c, h)
        };
        let blocked = !versions(graphs, http, opts, &channel, arch)
            .await?
            .iter()
            .any(|(v, _)| *v == from);
        if blocked {
            // No update from `from` in this channel: oc-mirror takes the release it was
            // heading for (looked up in the last channel), and stops.
            let p = path_in(graphs, http, opts, &tgt, arch, &to, &to).await?;
            take(&tgt, vec![p.requested]);
            break;
        }
        let p = path_in(graphs, http, opts, &channel, arch, &from, &to).await?;
        if at_target {
            take(&channel, std::iter::once(p.requested).chain(p.path).collect());
            break;
        }
        take(&channel, p.path);
        from = to;
    }
    Ok(out)
}

/// A major and minor version, as a channel name ends (`-4.13`).
type Minor = (u64, u64);

/// `stable-4.13` and `fast-4.15`: (4, 13), (4, 15) and the first's prefix (`stable`), as
/// oc-mirror reads channel names (`getSemverFromChannels`).
fn channel_minors(src: &str, tgt: &str) -> Result<(Minor, Minor, String), String> {
    let minor = |c: &str| -> Result<(String, Minor), String> {
        let (prefix, v) = c
            .rsplit_once('-')
            .ok_or_else(|| format!("channel name {c} has no -X.Y to step through"))?;
        let v =
            semver::Version::parse(&format!("{v}.0")).map_err(|_| format!("channel name {c} does not end in -X.Y"))?;
        Ok((prefix.to_string(), (v.major, v.minor)))
    };
    let (prefix, s) = minor(src)?;
    let (_, t) = minor(tgt)?;
    Ok((s, t, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert!(matches!(
            Spec::parse(&format!("sha256:{}", "a".repeat(64))).unwrap(),
            Spec::Digest(_)
        ));
        assert!(matches!(
            Spec::parse("quay.io/a/b:4.15.0-x86_64").unwrap(),
            Spec::Pullspec(_)
        ));
        assert!(matches!(Spec::parse("4.15.0").unwrap(), Spec::Version(_)));
        assert!(matches!(Spec::parse("4.16.0-rc.1").unwrap(), Spec::Version(_)));
        assert_eq!(
            Spec::parse("channel:stable-4.15").unwrap(),
            Spec::Channel(ChannelSpec::named("stable-4.15"))
        );
        for bad in ["4.15", "latest", "channel:", "sha256:abc", "channel:a b"] {
            assert!(Spec::parse(bad).is_err(), "{bad}");
        }
    }
}
