//! The update service's graph of a channel: fetched from its API (or read from a saved answer)
//! and narrowed to the releases within a version range, by their payload digests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::digest::{Digest, Pullspec};

/// Red Hat's update service graph endpoint.
pub const DEFAULT_GRAPH_URL: &str = "https://api.openshift.com/api/upgrades_info/v1/graph";
/// The largest graph answer read (the real stable-4.13 graph is 175 KB).
const MAX_GRAPH_BYTES: usize = 64 << 20;

/// Why a channel's graph gave no releases.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("update graph for channel {channel} ({source_name}): {reason}")]
    Bad {
        channel: String,
        source_name: String,
        reason: String,
    },
}

/// The graph API's answer (the fields sigbundle reads; others are ignored).
#[derive(Debug, Deserialize)]
pub struct Graph {
    pub nodes: Vec<GraphNode>,
    /// Updates, as (from, to) node indices.
    #[serde(default)]
    pub edges: Vec<(usize, usize)>,
    /// Updates the service recommends only with known risks (`conditionalEdges`).
    #[serde(default, rename = "conditionalEdges")]
    pub conditional_edges: Vec<ConditionalEdges>,
}

/// Updates that carry risks: the edges (by version) and the risks' names.
#[derive(Debug, Deserialize)]
pub struct ConditionalEdges {
    #[serde(default)]
    pub edges: Vec<VersionEdge>,
    #[serde(default)]
    pub risks: Vec<Risk>,
}

/// An update from one version to another.
#[derive(Debug, Deserialize)]
pub struct VersionEdge {
    pub from: String,
    pub to: String,
}

/// A known risk of an update (its name is what `--accept-risks` names).
#[derive(Debug, Deserialize)]
pub struct Risk {
    pub name: String,
}

/// One node of the graph.
#[derive(Debug, Deserialize)]
pub struct GraphNode {
    pub version: String,
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// The node metadata naming every channel a release is in (comma-separated).
pub const CHANNELS_METADATA: &str = "io.openshift.upgrades.graph.release.channels";

/// Where channel graphs come from.
#[derive(Debug, Clone)]
pub enum GraphSource {
    Url(String),
    /// A saved answer, and the architecture it was requested for (the `arch=` of its URL, in
    /// the update service's names): an answer records neither its channel nor its arch, so
    /// the arch must be said and the channel is checked against the nodes' metadata.
    File {
        path: PathBuf,
        arch: Option<String>,
    },
}

/// Select the nodes of a graph within `[min, max]`: (version, digest), sorted by version.
pub fn select_nodes(
    graph_bytes: &[u8],
    channel: &str,
    source_name: &str,
    check_channel: bool,
    min: Option<&semver::Version>,
    max: Option<&semver::Version>,
) -> Result<Vec<(semver::Version, Digest)>, GraphError> {
    let err = |reason: String| GraphError::Bad {
        channel: channel.to_string(),
        source_name: source_name.to_string(),
        reason,
    };
    let g: Graph = serde_json::from_slice(graph_bytes).map_err(|e| err(format!("not a graph: {e}")))?;
    if check_channel {
        in_channel(&g, channel).map_err(err)?;
    }
    let mut out = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let v = semver::Version::parse(&n.version)
            .map_err(|e| err(format!("node {i}: bad version {:?}: {e}", n.version)))?;
        if min.is_some_and(|m| &v < m) || max.is_some_and(|m| &v > m) {
            continue;
        }
        let payload = n
            .payload
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| err(format!("node {} has no payload", n.version)))?;
        let p = Pullspec::parse(payload).map_err(|e| err(format!("node {}: {e}", n.version)))?;
        let d = p
            .digest
            .ok_or_else(|| err(format!("node {}: payload {payload:?} is not by digest", n.version)))?;
        out.push((v, d));
    }
    out.sort();
    Ok(out)
}

/// Whether a saved answer is the graph of `channel`: the service answers with the releases in
/// the channel, and each node lists its channels, so every node must list this one.
pub(crate) fn in_channel(g: &Graph, channel: &str) -> Result<(), String> {
    for n in &g.nodes {
        let Some(list) = n.metadata.get(CHANNELS_METADATA) else {
            return Err(format!(
                "node {} carries no {CHANNELS_METADATA} metadata, so the channel the file was saved for cannot be checked",
                n.version
            ));
        };
        if !list.split(',').any(|c| c.trim() == channel) {
            return Err(format!(
                "not saved for this channel: release {} is not in it (it is in {list})",
                n.version
            ));
        }
    }
    Ok(())
}

/// The shortest update path between two releases of a channel's graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatePath {
    /// The release updated from.
    pub current: (semver::Version, Digest),
    /// The release updated to.
    pub requested: (semver::Version, Digest),
    /// The releases on the path, both ends included; empty when no path joins them.
    pub path: Vec<(semver::Version, Digest)>,
}

/// The shortest update path from `from` to `to` in a channel's graph, as oc-mirror v2 computes
/// it (`GetUpdates` in `internal/pkg/release/core-cincinnati.go`): breadth first along the
/// edges, each node's updates tried from the highest version down; both versions must be
/// nodes of the graph.
pub fn shortest_path(
    graph_bytes: &[u8],
    channel: &str,
    source_name: &str,
    check_channel: bool,
    from: &semver::Version,
    to: &semver::Version,
) -> Result<UpdatePath, GraphError> {
    let err = |reason: String| GraphError::Bad {
        channel: channel.to_string(),
        source_name: source_name.to_string(),
        reason,
    };
    let g: Graph = serde_json::from_slice(graph_bytes).map_err(|e| err(format!("not a graph: {e}")))?;
    if check_channel {
        in_channel(&g, channel).map_err(err)?;
    }
    let versions = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            semver::Version::parse(&n.version).map_err(|e| err(format!("node {i}: bad version {:?}: {e}", n.version)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let index = |v: &semver::Version, what: &str| {
        versions
            .iter()
            .position(|n| n == v)
            .ok_or_else(|| err(format!("{what} version {v} is not in the channel")))
    };
    let (start, end) = (index(from, "current")?, index(to, "requested")?);
    let mut next: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &(a, b) in &g.edges {
        if a >= versions.len() || b >= versions.len() {
            return Err(err(format!("edge ({a}, {b}) names no node")));
        }
        next.entry(a).or_default().push(b);
    }
    for to in next.values_mut() {
        to.sort_by(|a, b| versions[*b].cmp(&versions[*a]));
    }
    let mut prev: BTreeMap<usize, Option<usize>> = BTreeMap::from([(start, None)]);
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        if n == end {
            break;
        }
        for &m in next.get(&n).into_iter().flatten() {
            if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(m) {
                e.insert(Some(n));
                queue.push_back(m);
            }
        }
    }
    let node = |i: usize| -> Result<(semver::Version, Digest), GraphError> {
        let n = &g.nodes[i];
        let payload = n
            .payload
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| err(format!("node {} has no payload", n.version)))?;
        let p = Pullspec::parse(payload).map_err(|e| err(format!("node {}: {e}", n.version)))?;
        let d = p
            .digest
            .ok_or_else(|| err(format!("node {}: payload {payload:?} is not by digest", n.version)))?;
        Ok((versions[i].clone(), d))
    };
    let mut path = Vec::new();
    if prev.contains_key(&end) {
        let mut at = Some(end);
        while let Some(n) = at {
            path.push(node(n)?);
            at = prev[&n];
        }
        path.reverse();
    }
    Ok(UpdatePath {
        current: node(start)?,
        requested: node(end)?,
        path,
    })
}

/// A version's digest from a saved answer (`pack 4.13.0 --graph-file …` needs no registry).
pub fn version_in(
    graph_bytes: &[u8],
    source_name: &str,
    version: &semver::Version,
) -> Result<Option<Digest>, GraphError> {
    Ok(
        select_nodes(graph_bytes, "(any)", source_name, false, Some(version), Some(version))?
            .into_iter()
            .next()
            .map(|(_, d)| d),
    )
}

/// The graph of `channel` for `arch` (the update service's arch name): its bytes and where
/// they came from. A saved answer must have been saved for `arch`.
pub async fn fetch_graph(
    http: &reqwest::Client,
    source: &GraphSource,
    channel: &str,
    arch: &str,
) -> Result<(Vec<u8>, String), GraphError> {
    match source {
        GraphSource::File { path, arch: saved_for } => {
            read_saved(path, saved_for.as_deref(), arch).map_err(|reason| GraphError::Bad {
                channel: channel.to_string(),
                source_name: path.display().to_string(),
                reason,
            })
        }
        GraphSource::Url(base) => {
            let err = |reason: String| GraphError::Bad {
                channel: channel.to_string(),
                source_name: base.clone(),
                reason,
            };
            let mut url = reqwest::Url::parse(base).map_err(|e| err(format!("bad --graph-url: {e}")))?;
            url.query_pairs_mut()
                .append_pair("channel", channel)
                .append_pair("arch", arch);
            let mut resp = http
                .get(url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| err(crate::text::error_chain(&e)))?;
            if !resp.status().is_success() {
                return Err(err(format!("{url}: HTTP {}", resp.status().as_u16())));
            }
            let mut body = Vec::new();
            while let Some(c) = resp.chunk().await.map_err(|e| err(crate::text::error_chain(&e)))? {
                body.extend_from_slice(&c);
                if body.len() > MAX_GRAPH_BYTES {
                    return Err(err(format!("answer larger than {MAX_GRAPH_BYTES} bytes")));
                }
            }
            Ok((body, url.to_string()))
        }
    }
}

/// A saved answer's bytes, if it was saved for `arch`.
pub fn read_saved(path: &std::path::Path, saved_for: Option<&str>, arch: &str) -> Result<(Vec<u8>, String), String> {
    match saved_for {
        None => {
            return Err(format!(
                "say which architecture it was saved for with --graph-file-arch (the arch= of the graph URL; {arch} is asked for): a saved answer does not record it"
            ))
        }
        Some(a) if a != arch => {
            return Err(format!(
                "saved for architecture {a}, but {arch} is asked for (by --arch, or an ImageSetConfiguration's architectures)"
            ));
        }
        Some(_) => {}
    }
    Ok((read_file(path)?, path.display().to_string()))
}

/// A saved graph answer's bytes, bounded.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut b = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_GRAPH_BYTES as u64 + 1), &mut b)
        .map_err(|e| format!("cannot read it: {e}"))?;
    if b.len() > MAX_GRAPH_BYTES {
        return Err(format!("larger than {MAX_GRAPH_BYTES} bytes"));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_node_without_payload_is_an_error() {
        let g = br#"{"version":1,"nodes":[{"version":"4.1.0","payload":""}],"edges":[]}"#;
        let e = select_nodes(g, "c", "f", false, None, None).unwrap_err();
        assert!(e.to_string().contains("node 4.1.0 has no payload"), "{e}");
        assert!(select_nodes(b"{", "c", "f", false, None, None).is_err());
    }
}
