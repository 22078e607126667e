//! oc-mirror `ImageSetConfiguration` files (`pack --from-isc`): the releases its
//! `mirror.platform` names, picked from each channel as oc-mirror v2 picks them.
//!
//! oc-mirror v2 (`internal/pkg/config/load.go`, `internal/pkg/release/cincinnati.go`) reads a
//! file of kind `ImageSetConfiguration`, refuses unknown fields anywhere, then per channel and
//! per architecture: both `minVersion` and `maxVersion` give that range; only `maxVersion` gives
//! the channel's lowest version up to it; only `minVersion` gives it up to the channel's head;
//! neither gives the head alone, or the whole channel with `full: true`. `platform.release`
//! replaces the channels altogether. `architectures` defaults to amd64; `platforms` means the
//! multi-arch payload. `shortestPath` keeps only the update path between the two ends, and
//! several channels also get the update path between them (resolved in `resolve.rs`).

use std::io::Read;
use std::path::Path;

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::digest::Pullspec;
use crate::resolve::{valid_channel, Arch, ChannelSpec, Pick, ResolveError, Spec};

/// The largest file read (real ones are a few KiB).
pub const MAX_ISC_BYTES: u64 = 1 << 20;

/// oc-mirror v2's API version (the current one).
pub const API_V2: &str = "mirror.openshift.io/v2alpha1";
/// oc-mirror v1's API version: the platform part has the same shape, without `release`,
/// `platforms` and `kubeVirtContainer`.
pub const API_V1: &str = "mirror.openshift.io/v1alpha2";

/// What a file asks for.
#[derive(Debug, Default)]
pub struct ImageSet {
    /// The releases, each with the name it is recorded as (channels are recorded per release as
    /// `channel:<name>@<version>` when resolved).
    pub specs: Vec<(String, Spec)>,
    /// Lines to show the user: what was not read, and where sigbundle packs other releases than
    /// oc-mirror mirrors.
    pub notes: Vec<String>,
}

#[derive(Deserialize)]
struct Head {
    kind: Option<String>,
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Doc {
    #[allow(dead_code)]
    api_version: Option<String>,
    #[allow(dead_code)]
    kind: Option<String>,
    mirror: Option<Mirror>,
    archive_size: Option<IgnoredAny>,
    /// v1alpha2 only (where it is required); oc-mirror v2 refuses it.
    storage_config: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Mirror {
    platform: Option<Platform>,
    operators: Option<IgnoredAny>,
    additional_images: Option<IgnoredAny>,
    helm: Option<IgnoredAny>,
    blocked_images: Option<IgnoredAny>,
    samples: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Platform {
    graph: Option<bool>,
    channels: Option<Vec<Channel>>,
    architectures: Option<Vec<String>>,
    platforms: Option<Vec<PlatformFilter>>,
    release: Option<String>,
    kube_virt_container: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Channel {
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    min_version: Option<String>,
    max_version: Option<String>,
    shortest_path: Option<bool>,
    full: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformFilter {
    os: Option<String>,
    architecture: Option<String>,
}

/// Read an ImageSetConfiguration: the releases of its `mirror.platform`, and notes for the user.
pub fn read(path: &Path) -> Result<ImageSet, ResolveError> {
    let bad = |reason: String| ResolveError::Isc {
        path: path.to_path_buf(),
        reason,
    };
    let read_err = |source| ResolveError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_ISC_BYTES + 1).read_to_end(&mut bytes).map_err(read_err)?;
    if bytes.len() as u64 > MAX_ISC_BYTES {
        return Err(bad(format!(
            "larger than {MAX_ISC_BYTES} bytes: not an ImageSetConfiguration"
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text: not an ImageSetConfiguration".into()))?;
    parse(&text).map_err(bad)
}

/// One line of a YAML error (serde-saphyr may add a snippet below it).
fn yaml_error(e: serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    format!("not a valid ImageSetConfiguration: {first}")
}

fn parse(text: &str) -> Result<ImageSet, String> {
    let head: Head = serde_saphyr::from_str(text).map_err(yaml_error)?;
    match head.kind.as_deref() {
        Some("ImageSetConfiguration") => {}
        Some(other) => {
            return Err(format!(
                "kind {other:?} is not ImageSetConfiguration (sigbundle reads oc-mirror's ImageSetConfiguration only)"
            ))
        }
        None => return Err("no kind: an oc-mirror file says kind: ImageSetConfiguration".into()),
    }
    let v1 = match head.api_version.as_deref() {
        // oc-mirror v2 does not look at apiVersion; v2alpha1 is what it writes.
        None | Some(API_V2) => false,
        Some(API_V1) => true,
        Some(other) => {
            return Err(format!(
                "apiVersion {other:?} is not one sigbundle reads ({API_V2}, or oc-mirror v1's {API_V1})"
            ))
        }
    };
    let doc: Doc = serde_saphyr::from_str(text).map_err(yaml_error)?;
    let mut ignored = Vec::new();
    if doc.storage_config.is_some() && !v1 {
        return Err(format!(
            "storageConfig is an oc-mirror v1 field ({API_V1}); oc-mirror v2 refuses it in {API_V2}"
        ));
    }
    let _ = doc.archive_size;
    let Some(mirror) = doc.mirror else {
        return Err("no mirror section (oc-mirror refuses a configuration without one)".into());
    };
    for (present, field) in [
        (mirror.operators.is_some(), "mirror.operators"),
        (mirror.additional_images.is_some(), "mirror.additionalImages"),
        (mirror.helm.is_some(), "mirror.helm"),
        (mirror.samples.is_some(), "mirror.samples"),
        (mirror.blocked_images.is_some(), "mirror.blockedImages"),
    ] {
        if present {
            ignored.push(field);
        }
    }
    let mut set = ImageSet::default();
    if let Some(p) = mirror.platform {
        platform(p, v1, &mut set, &mut ignored)?;
    }
    if !ignored.is_empty() {
        set.notes.insert(
            0,
            format!(
                "sigbundle carries only release signatures; not read: {}",
                ignored.join(", ")
            ),
        );
    }
    Ok(set)
}

fn platform(p: Platform, v1: bool, set: &mut ImageSet, ignored: &mut Vec<&'static str>) -> Result<(), String> {
    if v1 {
        for (present, field) in [
            (p.release.is_some(), "release"),
            (p.platforms.is_some(), "platforms"),
            (p.kube_virt_container.is_some(), "kubeVirtContainer"),
        ] {
            if present {
                return Err(format!(
                    "mirror.platform.{field} is not a field of {API_V1} (oc-mirror v1 refuses it; it is oc-mirror v2's, {API_V2})"
                ));
            }
        }
    }
    if p.graph == Some(true) {
        ignored.push("mirror.platform.graph (the graph-data image)");
    }
    if p.kube_virt_container == Some(true) {
        ignored.push("mirror.platform.kubeVirtContainer");
    }
    let architectures = architectures(&p)?;
    let channels = p.channels.unwrap_or_default();
    check_channels(&channels)?;
    if let Some(release) = p.release.as_deref().filter(|r| !r.is_empty()) {
        let at = "mirror.platform.release";
        let (transport, rest) = match release.split_once("://") {
            Some((t, r)) => (t, r),
            None => ("docker", release),
        };
        if transport != "docker" {
            return Err(format!(
                "{at}: {transport}:// is a release on disk; sigbundle takes a registry pullspec (by tag or digest)"
            ));
        }
        let pullspec = Pullspec::parse(rest).map_err(|e| format!("{at}: {e}"))?;
        if !channels.is_empty() {
            set.notes.push(
                "mirror.platform.release is set, so its channels are not read (oc-mirror takes only the release then)"
                    .into(),
            );
        }
        set.specs.push((release.to_string(), Spec::Pullspec(pullspec)));
        return Ok(());
    }
    let mut per_arch: Vec<Vec<ChannelSpec>> = vec![Vec::new(); architectures.len()];
    for (i, c) in channels.iter().enumerate() {
        let at = format!("mirror.platform.channels[{i}]");
        let version = |field: &str, v: &Option<String>| -> Result<Option<semver::Version>, String> {
            match v.as_deref() {
                None | Some("") => Ok(None),
                Some(s) => semver::Version::parse(s)
                    .map(Some)
                    .map_err(|e| format!("{at}.{field}: {s:?} is not a version X.Y.Z: {e}")),
            }
        };
        let min = version("minVersion", &c.min_version)?;
        let max = version("maxVersion", &c.max_version)?;
        let pick = if min.is_none() && max.is_none() && c.full != Some(true) {
            Pick::Head
        } else {
            Pick::Range { min, max }
        };
        for (k, arch) in architectures.iter().enumerate() {
            let spec = ChannelSpec {
                name: c.name.clone(),
                arch: Some(*arch),
                pick: Some(pick.clone()),
                shortest_path: c.shortest_path == Some(true),
            };
            per_arch[k].push(spec.clone());
            set.specs.push((format!("channel:{}", c.name), Spec::Channel(spec)));
        }
    }
    // Several channels: oc-mirror also mirrors the update path between them, per architecture.
    if channels.len() > 1 {
        for all in per_arch {
            set.specs
                .push(("(the update path between channels)".into(), Spec::UpgradePath(all)));
        }
    }
    Ok(())
}

/// The architectures a platform section asks for: `architectures` (default amd64), or the
/// multi payload for `platforms`; both together are refused, as oc-mirror refuses them.
fn architectures(p: &Platform) -> Result<Vec<Arch>, String> {
    Ok(match (&p.architectures, &p.platforms) {
        (Some(a), Some(f)) if !a.is_empty() && !f.is_empty() => {
            return Err(
                "mirror.platform.platforms and mirror.platform.architectures cannot be used together (oc-mirror refuses both)".into(),
            )
        }
        (_, Some(f)) if !f.is_empty() => {
            for (i, pf) in f.iter().enumerate() {
                if pf.os.as_deref().unwrap_or("").is_empty() || pf.architecture.as_deref().unwrap_or("").is_empty() {
                    return Err(format!("mirror.platform.platforms[{i}]: os and architecture are both required"));
                }
            }
            // oc-mirror then mirrors the multi-arch payload (filtered inside; the release
            // digest the cluster checks is the multi one).
            vec![Arch::Multi]
        }
        (Some(a), _) if !a.is_empty() => {
            let mut out = Vec::new();
            for (i, name) in a.iter().enumerate() {
                let arch = Arch::parse(name).ok_or_else(|| {
                    format!(
                        "mirror.platform.architectures[{i}]: unknown architecture {name:?} (amd64, arm64, ppc64le, s390x or multi)"
                    )
                })?;
                if !out.contains(&arch) {
                    out.push(arch);
                }
            }
            out
        }
        _ => vec![Arch::X86_64],
    })
}

/// Each channel's name (valid, not twice, as oc-mirror validates) and type (ocp; okd refused).
fn check_channels(channels: &[Channel]) -> Result<(), String> {
    let mut names: Vec<&str> = Vec::new();
    for (i, c) in channels.iter().enumerate() {
        let at = format!("mirror.platform.channels[{i}]");
        valid_channel(&c.name).map_err(|e| format!("{at}.name: {e}"))?;
        if names.contains(&c.name.as_str()) {
            // oc-mirror's own validation (internal/pkg/config/validate.go).
            return Err(format!("{at}.name: channel {:?} appears twice", c.name));
        }
        names.push(&c.name);
        match c.kind.as_deref() {
            None | Some("ocp") => {}
            Some("okd") => {
                return Err(format!(
                    "{at}.type: okd: sigbundle does not take OKD channels from an ImageSetConfiguration (OKD's graph, stores and keys differ); use --channel with --graph-url, --store and --keyring"
                ))
            }
            Some(other) => return Err(format!("{at}.type: {other:?} is neither ocp nor okd")),
        }
    }
    Ok(())
}

/// Where a note about `path` is said.
pub fn note(path: &Path, note: &str) -> String {
    let path = crate::text::escape_name(&path.display().to_string());
    match note.strip_prefix("warning: ") {
        Some(w) => format!("warning: {path}: {w}"),
        None => format!("note: {path}: {note}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picks(text: &str) -> Vec<(Option<Arch>, Option<Pick>)> {
        parse(text)
            .unwrap()
            .specs
            .into_iter()
            .map(|(_, s)| match s {
                Spec::Channel(c) => (c.arch, c.pick),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn ranges_follow_oc_mirror() {
        let v = |s: &str| Some(semver::Version::parse(s).unwrap());
        let doc = |ch: &str| {
            format!("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    channels:\n    - name: stable-4.13\n{ch}")
        };
        assert_eq!(picks(&doc("")), [(Some(Arch::X86_64), Some(Pick::Head))]);
        assert_eq!(
            picks(&doc("      full: true\n")),
            [(Some(Arch::X86_64), Some(Pick::Range { min: None, max: None }))]
        );
        assert_eq!(
            picks(&doc("      maxVersion: 4.13.3\n")),
            [(
                Some(Arch::X86_64),
                Some(Pick::Range {
                    min: None,
                    max: v("4.13.3")
                })
            )]
        );
        assert_eq!(
            picks(&doc("      minVersion: 4.13.1\n")),
            [(
                Some(Arch::X86_64),
                Some(Pick::Range {
                    min: v("4.13.1"),
                    max: None
                })
            )]
        );
    }

    #[test]
    fn yaml_errors_are_one_line() {
        let e = parse("kind: ImageSetConfiguration\nmirror: [\n").unwrap_err();
        assert!(!e.contains('\n'), "{e}");
        let e = parse("kind: ImageSetConfiguration\nmirror:\n  platform:\n    chanels: []\n").unwrap_err();
        assert!(!e.contains('\n') && e.contains("chanels"), "{e}");
    }
}
