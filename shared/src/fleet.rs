//! Emitting for the engines that already run fleets, instead of being one: a kustomization over
//! the `oc` ConfigMap files, Open Cluster Management (Red Hat ACM) policies that make every
//! signature ConfigMap exist on the managed clusters a `Placement` selects, and the ConfigMap
//! `oc-mirror` v2 writes (`signature-configmap.json` and `.yaml`). Aggregates are split so
//! that no object exceeds [`MAX_OBJECT_BYTES`]. Pure rendering: the files are written by
//! [`crate::unpack::DirEmitter`].

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;

use crate::configmap::{ConfigMap, Metadata, LABEL, NAMESPACE};
use crate::digest::Digest;

/// The most one emitted object may hold, as JSON (a ConfigMap holds at most 1 MiB).
pub const MAX_OBJECT_BYTES: usize = 1 << 20;
/// The name oc-mirror v2 gives its signature ConfigMap (`-2`, `-3`, … for the further parts).
pub const OC_MIRROR_NAME: &str = "mirrored-release-signatures";
/// The file oc-mirror v2 writes it to (`.json` and `.yaml`).
pub const OC_MIRROR_FILE: &str = "signature-configmap";
/// The kustomization file `kubectl kustomize` reads.
pub const KUSTOMIZATION: &str = "kustomization.yaml";
/// The prefix of every ACM file and object name.
pub const ACM_PREFIX: &str = "release-signatures";

/// Why a fleet format could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("the signatures of {digest} alone make a {format} object of {size} bytes, over the {MAX_OBJECT_BYTES}-byte limit of one object; emit it with --format oc-json")]
    TooLarge {
        digest: Digest,
        format: &'static str,
        size: usize,
    },
    #[error("--placement-label {0:?}: expected KEY=VALUE")]
    BadLabel(String),
    #[error("--policy-namespace {0:?}: a namespace is 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit")]
    BadNamespace(String),
    #[error("--policy-namespace {0:?}: at most {MAX_POLICY_NAMESPACE} characters: ACM names each policy NAMESPACE.NAME on the managed clusters, at most 62 characters with a name such as release-signatures-1000")]
    LongNamespace(String),
}

/// One release and its signatures' bytes, in bundle order.
pub type ReleaseSignatures<'a> = (Digest, Vec<&'a [u8]>);

/// Each release of a verified bundle with its signatures' bytes.
pub fn signatures_of(bundle: &crate::bundle::VerifiedBundle) -> Vec<ReleaseSignatures<'_>> {
    bundle
        .releases
        .iter()
        .map(|r| (r.digest, r.signatures.iter().map(|s| s.bytes.as_slice()).collect()))
        .collect()
}

/// One rendered file: its name in the folder, its bytes, what kind of object it holds and the
/// releases whose signatures it carries.
#[derive(Debug, Clone)]
pub struct FleetFile {
    pub name: String,
    pub bytes: Vec<u8>,
    pub kind: &'static str,
    pub releases: Vec<Digest>,
    pub signatures: usize,
}

/// Render as YAML with one-line scalars (base64 stays on one line, as `oc get -o yaml` shows).
fn yaml<T: Serialize>(value: &T) -> Vec<u8> {
    let mut o = serde_saphyr::SerializerOptions::default();
    o.prefer_block_scalars = false;
    serde_saphyr::to_string_with_options(value, o)
        .expect("fleet objects always serialize")
        .into_bytes()
}

fn json_len<T: Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

/// `kustomization.yaml` listing `resources` (the `oc` ConfigMap files, in manifest order).
pub fn kustomization(resources: &[String], releases: &[Digest], signatures: usize) -> FleetFile {
    #[derive(Serialize)]
    struct Kustomization<'a> {
        #[serde(rename = "apiVersion")]
        api_version: &'static str,
        kind: &'static str,
        resources: &'a [String],
    }
    FleetFile {
        name: KUSTOMIZATION.into(),
        bytes: yaml(&Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources,
        }),
        kind: "Kustomization",
        releases: releases.to_vec(),
        signatures,
    }
}

/// Split `items` in order into groups whose object stays within `limit` bytes as JSON: `empty`
/// is the object's length with no item, `item_len` an item's length inside it, one separator
/// between items (a JSON array's or map's comma). Linear: nothing is serialized again per item.
/// An item too large alone is an error naming its release.
fn split<T>(
    items: Vec<(Digest, T)>,
    limit: usize,
    format: &'static str,
    empty: usize,
    item_len: impl Fn(&T) -> usize,
) -> Result<Vec<Vec<(Digest, T)>>, FleetError> {
    let mut groups: Vec<Vec<(Digest, T)>> = Vec::new();
    let mut current: Vec<(Digest, T)> = Vec::new();
    let mut size = empty;
    for item in items {
        let len = item_len(&item.1);
        if empty + len > limit {
            return Err(FleetError::TooLarge {
                digest: item.0,
                format,
                size: empty + len,
            });
        }
        let separator = usize::from(!current.is_empty());
        if size + separator + len > limit {
            groups.push(std::mem::take(&mut current));
            size = empty;
        }
        size += usize::from(!current.is_empty()) + len;
        current.push(item);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    Ok(groups)
}

/// The rendered object of `digests` must be within `limit` (what [`split`] planned).
fn check_size(json: usize, limit: usize, digests: &[Digest], format: &'static str) -> Result<(), FleetError> {
    match digests.first() {
        Some(d) if json > limit => Err(FleetError::TooLarge {
            digest: *d,
            format,
            size: json,
        }),
        _ => Ok(()),
    }
}

/// The longest `--policy-namespace`: ACM replicates a policy to each managed cluster as
/// `NAMESPACE.NAME`, and refuses a namespace and name longer than 62 together; names are
/// `release-signatures-N`, counted here up to 4 digits.
pub const MAX_POLICY_NAMESPACE: usize = 62 - (ACM_PREFIX.len() + 1 + 4);

/// Where the ACM objects go and which managed clusters they reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmOptions {
    /// The hub namespace of the Policy, Placement and PlacementBinding.
    pub namespace: String,
    /// `matchLabels` of the Placement's cluster selector (all must match).
    pub labels: BTreeMap<String, String>,
}

impl AcmOptions {
    /// From `--policy-namespace` and `--placement-label KEY=VALUE…` (none given: OpenShift
    /// clusters, `vendor=OpenShift`, the label ACM gives every OpenShift managed cluster).
    pub fn new(namespace: &str, labels: &[String]) -> Result<AcmOptions, FleetError> {
        let ok_ns = !namespace.is_empty()
            && namespace.len() <= 63
            && namespace
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !namespace.starts_with('-')
            && !namespace.ends_with('-');
        if !ok_ns {
            return Err(FleetError::BadNamespace(namespace.into()));
        }
        if namespace.len() > MAX_POLICY_NAMESPACE {
            return Err(FleetError::LongNamespace(namespace.into()));
        }
        let mut map = BTreeMap::new();
        for l in labels {
            match l.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    map.insert(k.to_string(), v.to_string());
                }
                _ => return Err(FleetError::BadLabel(l.clone())),
            }
        }
        if map.is_empty() {
            map.insert("vendor".into(), "OpenShift".into());
        }
        Ok(AcmOptions {
            namespace: namespace.into(),
            labels: map,
        })
    }
}

#[derive(Serialize)]
struct ObjectMeta<'a> {
    name: String,
    namespace: &'a str,
}

#[derive(Serialize)]
struct Policy<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    metadata: ObjectMeta<'a>,
    spec: PolicySpec,
}

#[derive(Serialize)]
struct PolicySpec {
    disabled: bool,
    #[serde(rename = "remediationAction")]
    remediation_action: &'static str,
    #[serde(rename = "policy-templates")]
    policy_templates: Vec<PolicyTemplate>,
}

#[derive(Serialize)]
struct PolicyTemplate {
    #[serde(rename = "objectDefinition")]
    object_definition: ConfigurationPolicy,
}

#[derive(Serialize)]
struct ConfigurationPolicy {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    metadata: NameOnly,
    spec: ConfigurationPolicySpec,
}

#[derive(Serialize)]
struct NameOnly {
    name: String,
}

#[derive(Serialize)]
struct ConfigurationPolicySpec {
    #[serde(rename = "remediationAction")]
    remediation_action: &'static str,
    severity: &'static str,
    #[serde(rename = "object-templates")]
    object_templates: Vec<ObjectTemplate>,
}

#[derive(Serialize)]
struct ObjectTemplate {
    #[serde(rename = "complianceType")]
    compliance_type: &'static str,
    /// Exactly the object `oc` writes for the release.
    #[serde(rename = "objectDefinition")]
    object_definition: ConfigMap,
}

const POLICY_API: &str = "policy.open-cluster-management.io/v1";
const POLICY_GROUP: &str = "policy.open-cluster-management.io";
const PLACEMENT_GROUP: &str = "cluster.open-cluster-management.io";

fn policy<'a>(opts: &'a AcmOptions, n: usize, configmaps: Vec<ConfigMap>) -> Policy<'a> {
    let name = format!("{ACM_PREFIX}-{n}");
    Policy {
        api_version: POLICY_API,
        kind: "Policy",
        metadata: ObjectMeta {
            name: name.clone(),
            namespace: &opts.namespace,
        },
        spec: PolicySpec {
            disabled: false,
            remediation_action: "enforce",
            policy_templates: vec![PolicyTemplate {
                object_definition: ConfigurationPolicy {
                    api_version: POLICY_API,
                    kind: "ConfigurationPolicy",
                    metadata: NameOnly { name },
                    spec: ConfigurationPolicySpec {
                        remediation_action: "enforce",
                        severity: "high",
                        object_templates: configmaps
                            .into_iter()
                            .map(|cm| ObjectTemplate {
                                compliance_type: "musthave",
                                object_definition: cm,
                            })
                            .collect(),
                    },
                },
            }],
        },
    }
}

/// The ACM objects: `release-signatures-N` Policies (each a ConfigurationPolicy that makes the
/// `oc` ConfigMap of each of its releases exist, enforced, `musthave`), split so that none
/// exceeds `limit` bytes as JSON; one Placement selecting the clusters by `opts.labels`; one
/// PlacementBinding binding every Policy to it. One file per object, `release-signatures-*.yaml`.
pub fn acm_policies(
    releases: &[ReleaseSignatures<'_>],
    opts: &AcmOptions,
    limit: usize,
) -> Result<Vec<FleetFile>, FleetError> {
    let items: Vec<(Digest, (ConfigMap, usize))> = releases
        .iter()
        .map(|(d, sigs)| (*d, (ConfigMap::for_release(d, sigs), sigs.len())))
        .collect();
    // The longest name a part could have, so the plan is an upper bound.
    let empty = json_len(&policy(opts, 999_999, Vec::new()));
    let groups = split(items, limit, "acm-policy", empty, |(cm, _)| {
        json_len(&ObjectTemplate {
            compliance_type: "musthave",
            object_definition: cm.clone(),
        })
    })?;
    let mut files = Vec::with_capacity(groups.len() + 2);
    let mut names = Vec::new();
    for (i, group) in groups.into_iter().enumerate() {
        let n = i + 1;
        let releases: Vec<Digest> = group.iter().map(|(d, _)| *d).collect();
        let signatures = group.iter().map(|(_, (_, s))| s).sum();
        let p = policy(opts, n, group.into_iter().map(|(_, (cm, _))| cm).collect());
        check_size(json_len(&p), limit, &releases, "acm-policy")?;
        names.push(p.metadata.name.clone());
        files.push(FleetFile {
            name: format!("{ACM_PREFIX}-policy-{n}.yaml"),
            bytes: yaml(&p),
            kind: "Policy",
            releases,
            signatures,
        });
    }
    let all: Vec<Digest> = releases.iter().map(|(d, _)| *d).collect();
    let placement = serde_json::json!({
        "apiVersion": "cluster.open-cluster-management.io/v1beta1",
        "kind": "Placement",
        "metadata": {"name": ACM_PREFIX, "namespace": opts.namespace},
        "spec": {"predicates": [{"requiredClusterSelector": {"labelSelector": {"matchLabels": opts.labels}}}]},
    });
    let subjects: Vec<_> = names
        .iter()
        .map(|n| serde_json::json!({"apiGroup": POLICY_GROUP, "kind": "Policy", "name": n}))
        .collect();
    let binding = serde_json::json!({
        "apiVersion": POLICY_API,
        "kind": "PlacementBinding",
        "metadata": {"name": ACM_PREFIX, "namespace": opts.namespace},
        "placementRef": {"apiGroup": PLACEMENT_GROUP, "kind": "Placement", "name": ACM_PREFIX},
        "subjects": subjects,
    });
    for (value, kind, file) in [
        (placement, "Placement", "placement"),
        (binding, "PlacementBinding", "placementbinding"),
    ] {
        check_size(json_len(&value), limit, &all, "acm-policy")?;
        // They select and bind; they carry no signature.
        files.push(FleetFile {
            name: format!("{ACM_PREFIX}-{file}.yaml"),
            bytes: yaml(&value),
            kind,
            releases: Vec::new(),
            signatures: 0,
        });
    }
    Ok(files)
}

/// oc-mirror v2's ConfigMap as Go's `encoding/json` writes oc-mirror's own type: `kind`,
/// `apiVersion`, `metadata` (`name`, `namespace`, `labels`, `annotations`), `binaryData`.
#[derive(Serialize)]
struct OcMirrorConfigMap {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: Metadata,
    #[serde(rename = "binaryData")]
    binary_data: BTreeMap<String, String>,
}

/// The ConfigMap(s) oc-mirror v2 writes: `mirrored-release-signatures` in
/// `signature-configmap.json` (Go's compact JSON, no newline) and `signature-configmap.yaml`
/// (keys sorted, as `sigs.k8s.io/yaml` writes them), keys `sha256-<hex>-<N>` with N counted
/// across all releases from 1, annotations `createdBy` and `createdAt` (the bundle's creation
/// time, so the same bundle gives the same bytes). Releases are kept whole; when the next one
/// would take the object over `limit` bytes, a new part starts: `mirrored-release-signatures-2`
/// in `signature-configmap-2.json`/`.yaml`, and so on.
pub fn oc_mirror(
    releases: &[ReleaseSignatures<'_>],
    created_at: &str,
    created_by: &str,
    limit: usize,
) -> Result<Vec<FleetFile>, FleetError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    // The numbering runs across every release (and part), as oc-mirror's does.
    let mut n = 0usize;
    let items: Vec<(Digest, Vec<(String, String)>)> = releases
        .iter()
        .map(|(d, sigs)| {
            let keys = sigs
                .iter()
                .map(|s| {
                    n += 1;
                    (format!("sha256-{}-{n}", d.hex()), b64.encode(s))
                })
                .collect();
            (*d, keys)
        })
        .collect();
    let object = |part: usize, group: &[&(Digest, Vec<(String, String)>)]| OcMirrorConfigMap {
        kind: "ConfigMap",
        api_version: "v1",
        metadata: Metadata {
            name: if part == 1 {
                OC_MIRROR_NAME.to_string()
            } else {
                format!("{OC_MIRROR_NAME}-{part}")
            },
            namespace: NAMESPACE,
            labels: BTreeMap::from([(LABEL.to_string(), String::new())]),
            annotations: BTreeMap::from([
                ("createdAt".to_string(), created_at.to_string()),
                ("createdBy".to_string(), created_by.to_string()),
            ]),
        },
        binary_data: group.iter().flat_map(|(_, keys)| keys.iter().cloned()).collect(),
    };
    // Each key and value is a JSON string without escapes (hex, digits, base64): `"k":"v"`.
    let groups = split(items, limit, "oc-mirror", json_len(&object(999_999, &[])), |keys| {
        keys.iter().map(|(k, v)| k.len() + v.len() + 5).sum::<usize>() + keys.len().saturating_sub(1)
    })?;
    let mut files = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let part = i + 1;
        let refs: Vec<_> = group.iter().collect();
        let cm = object(part, &refs);
        let json = serde_json::to_vec(&cm).expect("a ConfigMap always serializes");
        let digests: Vec<Digest> = group.iter().map(|(d, _)| *d).collect();
        check_size(json.len(), limit, &digests, "oc-mirror")?;
        // sigs.k8s.io/yaml goes through JSON: every map's keys come out sorted.
        let sorted: serde_json::Value = serde_json::from_slice(&json).expect("just serialized");
        let stem = if part == 1 {
            OC_MIRROR_FILE.to_string()
        } else {
            format!("{OC_MIRROR_FILE}-{part}")
        };
        let releases: Vec<Digest> = group.iter().map(|(d, _)| *d).collect();
        let signatures = group.iter().map(|(_, k)| k.len()).sum();
        files.push(FleetFile {
            name: format!("{stem}.json"),
            bytes: json,
            kind: "ConfigMap",
            releases: releases.clone(),
            signatures,
        });
        files.push(FleetFile {
            name: format!("{stem}.yaml"),
            bytes: yaml(&sorted),
            kind: "ConfigMap",
            releases,
            signatures,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A release whose one signature is `len` bytes (leaked: tests only).
    fn release(byte: u8, len: usize) -> ReleaseSignatures<'static> {
        let d = Digest::parse(&format!("sha256:{}", format!("{byte:02x}").repeat(32))).unwrap();
        (d, vec![&*Vec::leak(vec![byte; len])])
    }

    #[test]
    fn oc_mirror_numbers_across_releases_and_splits_before_the_limit() {
        // Six releases of one 300 KiB signature (400 KiB as base64): two fit in 1 MiB, not three.
        let rs: Vec<_> = (1..=6).map(|b| release(b, 300 << 10)).collect();
        let files = oc_mirror(&rs, "2024-01-01T00:00:00Z", "sigbundle", MAX_OBJECT_BYTES).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "signature-configmap.json",
                "signature-configmap.yaml",
                "signature-configmap-2.json",
                "signature-configmap-2.yaml",
                "signature-configmap-3.json",
                "signature-configmap-3.yaml"
            ]
        );
        for f in &files {
            assert!(
                f.bytes.len() <= MAX_OBJECT_BYTES,
                "{} is {} bytes",
                f.name,
                f.bytes.len()
            );
            assert_eq!(f.releases.len(), 2);
        }
        let second: serde_json::Value = serde_json::from_slice(&files[2].bytes).unwrap();
        assert_eq!(second["metadata"]["name"], "mirrored-release-signatures-2");
        let keys: Vec<_> = second["binaryData"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                format!("sha256-{}-3", "03".repeat(32)),
                format!("sha256-{}-4", "04".repeat(32))
            ]
        );
        // A release too large for any object is refused by name.
        let e = oc_mirror(&[release(9, 800 << 10)], "t", "s", MAX_OBJECT_BYTES).unwrap_err();
        assert!(e.to_string().contains(&"09".repeat(32)), "{e}");
    }

    #[test]
    fn acm_policies_split_and_bind_every_part() {
        let rs: Vec<_> = (1..=5).map(|b| release(b, 300 << 10)).collect();
        let opts = AcmOptions::new("policies", &[]).unwrap();
        let files = acm_policies(&rs, &opts, MAX_OBJECT_BYTES).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "release-signatures-policy-1.yaml",
                "release-signatures-policy-2.yaml",
                "release-signatures-policy-3.yaml",
                "release-signatures-placement.yaml",
                "release-signatures-placementbinding.yaml"
            ]
        );
        for f in &files {
            assert!(
                f.bytes.len() <= MAX_OBJECT_BYTES,
                "{} is {} bytes",
                f.name,
                f.bytes.len()
            );
        }
        let binding: serde_json::Value = serde_saphyr::from_slice(&files[4].bytes).unwrap();
        let subjects: Vec<_> = binding["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            subjects,
            ["release-signatures-1", "release-signatures-2", "release-signatures-3"]
        );
        let placement: serde_json::Value = serde_saphyr::from_slice(&files[3].bytes).unwrap();
        assert_eq!(
            placement["spec"]["predicates"][0]["requiredClusterSelector"]["labelSelector"]["matchLabels"]["vendor"],
            "OpenShift"
        );
    }

    #[test]
    fn the_plan_is_the_rendered_size() {
        // With the limit set to the size of two releases' object (plus what the longest part
        // name adds: `-999999` for `mirrored-release-signatures`, `99999` twice for
        // `release-signatures-1`), two fit and the third starts a part; a byte less, and each
        // release is a part of its own: the plan counts every byte.
        let rs: Vec<_> = (1..=3).map(|b| release(b, 1000)).collect();
        let two = oc_mirror(&rs[..2], "t", "s", MAX_OBJECT_BYTES).unwrap()[0].bytes.len();
        let files = oc_mirror(&rs, "t", "s", two + 7).unwrap();
        assert_eq!(files.len(), 4, "two parts");
        assert_eq!(files[0].releases.len(), 2);
        let files = oc_mirror(&rs, "t", "s", two + 6).unwrap();
        assert_eq!(files.len(), 6, "one release per part");
        let opts = AcmOptions::new("p", &[]).unwrap();
        let two = acm_policies(&rs[..2], &opts, MAX_OBJECT_BYTES).unwrap()[0].bytes.len();
        assert!(two > 2000);
        let json_two = {
            let v: serde_json::Value =
                serde_saphyr::from_slice(&acm_policies(&rs[..2], &opts, MAX_OBJECT_BYTES).unwrap()[0].bytes).unwrap();
            serde_json::to_vec(&v).unwrap().len()
        };
        let parts = |limit| {
            acm_policies(&rs, &opts, limit)
                .unwrap()
                .iter()
                .filter(|f| f.kind == "Policy")
                .count()
        };
        assert_eq!(parts(json_two + 10), 2);
        assert_eq!(parts(json_two + 9), 3);
    }

    #[test]
    fn acm_options_are_checked() {
        assert!(AcmOptions::new("Bad_NS", &[]).is_err());
        assert!(AcmOptions::new(&"n".repeat(MAX_POLICY_NAMESPACE), &[]).is_ok());
        assert!(matches!(
            AcmOptions::new(&"n".repeat(MAX_POLICY_NAMESPACE + 1), &[]),
            Err(FleetError::LongNamespace(_))
        ));
        assert!(AcmOptions::new("ok", &["novalue".into()]).is_err());
        let o = AcmOptions::new("ok", &["env=prod".into(), "region=eu".into()]).unwrap();
        assert_eq!(o.labels.len(), 2);
    }
}
