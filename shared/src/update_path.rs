//! The update path a cluster takes: the fewest hops from the release it runs to the one it
//! must reach, over the update graphs of one or more channels (joined by version), conditional
//! edges taken only where every one of their risks is accepted.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use semver::Version;

use crate::digest::{Digest, Pullspec};
use crate::graph::Graph;

/// Why no path could be given.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error(transparent)]
    Graph(#[from] crate::graph::GraphError),
    #[error("cannot fetch the update graph: {0}")]
    Fetch(String),
    #[error("update graph {source_name}: {reason}")]
    BadGraph { source_name: String, reason: String },
    #[error("{what} {end} is not a release in the update graph of {channels}")]
    UnknownEnd {
        what: &'static str,
        end: String,
        channels: String,
    },
    #[error("no update path from {from} to {to} in {channels}{}", risks_hint(.risks))]
    NoPath {
        from: String,
        to: String,
        channels: String,
        /// Risks whose conditional edges would open a path (accept them to take it).
        risks: Vec<String>,
    },
}

fn risks_hint(risks: &[String]) -> String {
    if risks.is_empty() {
        String::new()
    } else {
        format!(
            " without accepting the risks of its conditional updates: {} (--accept-risks NAME to take them)",
            risks.join(", ")
        )
    }
}

/// Where a path starts: a version, or the release digest a cluster runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStart {
    Version(Version),
    Digest(Digest),
}

impl std::fmt::Display for PathStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathStart::Version(v) => write!(f, "{v}"),
            PathStart::Digest(d) => write!(f, "{d}"),
        }
    }
}

/// One channel's graph answer, as fetched or read.
pub struct ChannelGraph<'a> {
    pub channel: &'a str,
    pub bytes: &'a [u8],
    pub source_name: &'a str,
    /// A saved answer records no channel: its nodes must list `channel`.
    pub check_channel: bool,
}

/// One release on the path, with the risks of the conditional update that leads to it (empty
/// for an unconditional update, and for the start).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hop {
    pub version: String,
    pub digest: Digest,
    pub risks: Vec<String>,
}

/// The path: the start, then every release the cluster updates to, in order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UpdatePlan {
    pub from: Hop,
    pub hops: Vec<Hop>,
}

/// The graphs joined by version: each release's digest, its updates and their risks.
struct Joined {
    digests: BTreeMap<Version, Digest>,
    /// (from, to) → risk names; empty for an unconditional update.
    edges: BTreeMap<(Version, Version), Vec<String>>,
}

fn join(graphs: &[ChannelGraph<'_>]) -> Result<Joined, PathError> {
    let mut j = Joined {
        digests: BTreeMap::new(),
        edges: BTreeMap::new(),
    };
    for cg in graphs {
        let bad = |reason: String| PathError::BadGraph {
            source_name: cg.source_name.to_string(),
            reason,
        };
        let g: Graph = serde_json::from_slice(cg.bytes).map_err(|e| bad(format!("not a graph: {e}")))?;
        if cg.check_channel {
            crate::graph::in_channel(&g, cg.channel).map_err(|r| bad(format!("channel {}: {r}", cg.channel)))?;
        }
        let mut versions = Vec::with_capacity(g.nodes.len());
        for n in &g.nodes {
            let v = Version::parse(&n.version).map_err(|e| bad(format!("bad version {:?}: {e}", n.version)))?;
            let digest = n
                .payload
                .as_deref()
                .and_then(|p| Pullspec::parse(p).ok())
                .and_then(|p| p.digest)
                .ok_or_else(|| bad(format!("node {v} has no payload by digest")))?;
            j.digests.insert(v.clone(), digest);
            versions.push(v);
        }
        for &(a, b) in &g.edges {
            let (Some(a), Some(b)) = (versions.get(a), versions.get(b)) else {
                return Err(bad(format!("edge ({a}, {b}) names no node")));
            };
            // An unconditional update wins over a conditional one of another channel.
            j.edges.insert((a.clone(), b.clone()), Vec::new());
        }
        for ce in &g.conditional_edges {
            let risks: Vec<String> = ce.risks.iter().map(|r| r.name.clone()).collect();
            for e in &ce.edges {
                let parse = |s: &str| Version::parse(s).map_err(|err| bad(format!("conditional edge {s:?}: {err}")));
                let key = (parse(&e.from)?, parse(&e.to)?);
                if j.edges.get(&key).is_some_and(Vec::is_empty) {
                    continue;
                }
                let entry = j.edges.entry(key).or_default();
                entry.extend(risks.iter().cloned());
                entry.sort();
                entry.dedup();
            }
        }
    }
    Ok(j)
}

/// Breadth first from `start` to `end` along the edges `allowed` keeps, each release's updates
/// tried from the highest version down (as oc-mirror orders them); the releases after `start`.
fn bfs(j: &Joined, start: &Version, end: &Version, allowed: impl Fn(&[String]) -> bool) -> Option<Vec<Version>> {
    let mut next: BTreeMap<&Version, Vec<&Version>> = BTreeMap::new();
    for ((a, b), risks) in &j.edges {
        if allowed(risks) {
            next.entry(a).or_default().push(b);
        }
    }
    for to in next.values_mut() {
        to.sort_by(|a, b| b.cmp(a));
    }
    let mut prev: BTreeMap<&Version, Option<&Version>> = BTreeMap::from([(start, None)]);
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        if n == end {
            let mut path = Vec::new();
            let mut at = Some(n);
            while let Some(v) = at {
                path.push(v.clone());
                at = prev[v];
            }
            path.reverse();
            path.remove(0);
            return Some(path);
        }
        for &m in next.get(n).into_iter().flatten() {
            prev.entry(m).or_insert_with(|| {
                queue.push_back(m);
                Some(n)
            });
        }
    }
    None
}

/// The fewest-hop update path from `from` to `to` over `graphs`, taking a conditional update only
/// when all its risks are in `accept` (`*` accepts every risk).
pub fn plan(
    graphs: &[ChannelGraph<'_>],
    from: &PathStart,
    to: &Version,
    accept: &[String],
) -> Result<UpdatePlan, PathError> {
    let channels = graphs.iter().map(|g| g.channel).collect::<Vec<_>>().join(", ");
    let j = join(graphs)?;
    let start = match from {
        PathStart::Version(v) => j.digests.contains_key(v).then(|| v.clone()),
        PathStart::Digest(d) => j.digests.iter().find(|(_, x)| *x == d).map(|(v, _)| v.clone()),
    }
    .ok_or_else(|| PathError::UnknownEnd {
        what: "current release",
        end: from.to_string(),
        channels: channels.clone(),
    })?;
    if !j.digests.contains_key(to) {
        return Err(PathError::UnknownEnd {
            what: "target release",
            end: to.to_string(),
            channels,
        });
    }
    let accepted = |risks: &[String]| accept.iter().any(|a| a == "*") || risks.iter().all(|r| accept.contains(r));
    let hop = |v: &Version, risks: Vec<String>| Hop {
        version: v.to_string(),
        digest: j.digests[v],
        risks,
    };
    let Some(path) = bfs(&j, &start, to, accepted) else {
        // Would the risks open one? Name them, so the administrator can decide.
        let risks: BTreeSet<String> = bfs(&j, &start, to, |_| true)
            .map(|p| {
                let mut at = start.clone();
                let mut all = Vec::new();
                for v in p {
                    all.extend(
                        j.edges[&(at.clone(), v.clone())]
                            .iter()
                            .filter(|r| !accept.contains(r))
                            .cloned(),
                    );
                    at = v;
                }
                all
            })
            .unwrap_or_default()
            .into_iter()
            .collect();
        return Err(PathError::NoPath {
            from: start.to_string(),
            to: to.to_string(),
            channels,
            risks: risks.into_iter().collect(),
        });
    };
    let mut at = start.clone();
    let mut hops = Vec::with_capacity(path.len());
    for v in &path {
        hops.push(hop(v, j.edges[&(at.clone(), v.clone())].clone()));
        at = v.clone();
    }
    Ok(UpdatePlan {
        from: hop(&start, Vec::new()),
        hops,
    })
}

/// One hop as a bundle can carry it: how many valid signatures of its release the bundle holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HopCheck {
    pub from: String,
    #[serde(flatten)]
    pub to: Hop,
    /// Valid signatures of `to` in the bundle.
    pub signatures: usize,
    /// Valid signatures of `to` the cluster's signature ConfigMaps hold (when it was asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_cluster: Option<usize>,
}

impl HopCheck {
    /// Whether the cluster would accept this update: a valid signature in the bundle, or
    /// already in the cluster.
    pub fn carried(&self) -> bool {
        self.signatures > 0 || self.in_cluster.is_some_and(|n| n > 0)
    }
}

/// Every hop of `plan` against a verified bundle: the cluster accepts an update only with a
/// valid signature of the release it updates to.
pub fn check(
    plan: &UpdatePlan,
    bundle: &crate::bundle::VerifiedBundle,
    in_cluster: Option<&BTreeMap<Digest, usize>>,
) -> Vec<HopCheck> {
    let mut at = plan.from.version.clone();
    plan.hops
        .iter()
        .map(|h| {
            let signatures = bundle.releases.iter().find(|r| r.digest == h.digest).map_or(0, |r| {
                r.signatures.iter().filter(|s| s.report.verdict.is_valid()).count()
            });
            let from = std::mem::replace(&mut at, h.version.clone());
            HopCheck {
                from,
                to: h.clone(),
                signatures,
                in_cluster: in_cluster.map(|m| m.get(&h.digest).copied().unwrap_or(0)),
            }
        })
        .collect()
}

/// Fetch each channel's graph from `source` for `arch` (the update service's arch name) and
/// [`plan`] the path, on a runtime of its own (before packing starts).
pub fn fetch_and_plan(
    cfg: crate::store::FetchConfig,
    source: &crate::graph::GraphSource,
    channels: &[String],
    arch: &str,
    from: &PathStart,
    to: &Version,
    accept: &[String],
) -> Result<UpdatePlan, PathError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PathError::Fetch(e.to_string()))?;
    let fetcher = crate::store::Fetcher::new(cfg).map_err(|e| PathError::Fetch(e.to_string()))?;
    let answers = runtime.block_on(async {
        let mut out = Vec::with_capacity(channels.len());
        for c in channels {
            out.push(crate::graph::fetch_graph(fetcher.client(), source, c, arch).await?);
        }
        Ok::<_, PathError>(out)
    })?;
    let file = matches!(source, crate::graph::GraphSource::File { .. });
    let graphs: Vec<ChannelGraph<'_>> = channels
        .iter()
        .zip(&answers)
        .map(|(c, (bytes, source_name))| ChannelGraph {
            channel: c,
            bytes,
            source_name,
            check_channel: file,
        })
        .collect();
    plan(&graphs, from, to, accept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> String {
        format!("quay.io/r@sha256:{}", format!("{n:02x}").repeat(32))
    }

    fn graph(nodes: &[&str], edges: &[(usize, usize)], cond: &str) -> Vec<u8> {
        let nodes: Vec<String> = nodes
            .iter()
            .enumerate()
            .map(|(i, v)| format!(r#"{{"version":"{v}","payload":"{}"}}"#, d(i as u8 + 1)))
            .collect();
        let edges: Vec<String> = edges.iter().map(|(a, b)| format!("[{a},{b}]")).collect();
        format!(
            r#"{{"nodes":[{}],"edges":[{}],"conditionalEdges":[{cond}]}}"#,
            nodes.join(","),
            edges.join(",")
        )
        .into_bytes()
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn fewest_hops_across_channels_and_risks_only_when_accepted() {
        // stable-4.15: 4.15.0 → 4.15.1 → 4.15.2; eus-4.16: 4.15.2 → 4.16.0, and 4.15.1 → 4.16.0
        // only under a risk.
        let a = graph(&["4.15.0", "4.15.1", "4.15.2"], &[(0, 1), (1, 2)], "");
        let b = graph(
            &["4.15.1", "4.15.2", "4.16.0"],
            &[(1, 2)],
            r#"{"edges":[{"from":"4.15.1","to":"4.16.0"}],"risks":[{"name":"RiskyBusiness","url":"u","message":"m"}]}"#,
        );
        let graphs = [
            ChannelGraph {
                channel: "stable-4.15",
                bytes: &a,
                source_name: "a",
                check_channel: false,
            },
            ChannelGraph {
                channel: "eus-4.16",
                bytes: &b,
                source_name: "b",
                check_channel: false,
            },
        ];
        let from = PathStart::Version(v("4.15.0"));
        let p = plan(&graphs, &from, &v("4.16.0"), &[]).unwrap();
        let versions: Vec<&str> = p.hops.iter().map(|h| h.version.as_str()).collect();
        assert_eq!(versions, ["4.15.1", "4.15.2", "4.16.0"]);
        let p = plan(&graphs, &from, &v("4.16.0"), &["RiskyBusiness".into()]).unwrap();
        let versions: Vec<&str> = p.hops.iter().map(|h| h.version.as_str()).collect();
        assert_eq!(versions, ["4.15.1", "4.16.0"]);
        assert_eq!(p.hops[1].risks, ["RiskyBusiness"]);
        // Only the conditional edge joins 4.15.1 to 4.16.0 in b alone: refused, naming the risk.
        let only_b = [ChannelGraph {
            channel: "eus-4.16",
            bytes: &b,
            source_name: "b",
            check_channel: false,
        }];
        let cut = graph(
            &["4.15.1", "4.16.0"],
            &[],
            r#"{"edges":[{"from":"4.15.1","to":"4.16.0"}],"risks":[{"name":"R1"},{"name":"R2"}]}"#,
        );
        let only_cut = [ChannelGraph {
            channel: "c",
            bytes: &cut,
            source_name: "c",
            check_channel: false,
        }];
        let e = plan(
            &only_cut,
            &PathStart::Version(v("4.15.1")),
            &v("4.16.0"),
            &["R1".into()],
        )
        .unwrap_err();
        assert!(e.to_string().contains("risks of its conditional updates: R2"), "{e}");
        assert!(plan(&only_cut, &PathStart::Version(v("4.15.1")), &v("4.16.0"), &["*".into()]).is_ok());
        let e = plan(&only_b, &PathStart::Version(v("4.15.0")), &v("4.16.0"), &[]).unwrap_err();
        assert!(e.to_string().contains("current release 4.15.0 is not a release"), "{e}");
        // A start given by digest.
        let dg = Digest::parse(&format!("sha256:{}", "01".repeat(32))).unwrap();
        let p = plan(&graphs, &PathStart::Digest(dg), &v("4.15.2"), &[]).unwrap();
        assert_eq!(p.from.version, "4.15.0");
    }
}
