//! The ConfigMaps the cluster reads release signatures from, rendered byte-for-byte as
//! `oc adm release mirror --release-image-signature-to-dir` writes them, or as YAML.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;

use crate::digest::Digest;

/// The namespace the cluster-version operator reads signature ConfigMaps from.
pub const NAMESPACE: &str = "openshift-config-managed";
/// The label that marks a signature ConfigMap.
pub const LABEL: &str = "release.openshift.io/verification-signatures";
/// The ConfigMap the CVO owns and overwrites: never written or changed by sigbundle.
pub const CVO_MANAGED_NAME: &str = "signatures-managed";

/// Output formats for ConfigMap files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The exact bytes `oc` writes: compact JSON plus a newline.
    OcJson,
    /// The same object as YAML.
    Yaml,
}

/// A ConfigMap object, fields in the order Kubernetes' Go types serialize them.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigMap {
    pub kind: &'static str,
    #[serde(rename = "apiVersion")]
    pub api_version: &'static str,
    pub metadata: Metadata,
    /// Go's encoding/json sorts map keys, so a sorted map gives `oc`'s order.
    #[serde(rename = "binaryData")]
    pub binary_data: BTreeMap<String, String>,
}

/// The object's metadata.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub name: String,
    pub namespace: &'static str,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The name `oc` gives the ConfigMap of one release: `sha256-<hex>`.
pub fn configmap_name(digest: &Digest) -> String {
    format!("sha256-{}", digest.hex())
}

/// The `binaryData` key of signature `n` (1-based) of a release: `sha256-<hex>-<n>`.
pub fn data_key(digest: &Digest, n: usize) -> String {
    format!("sha256-{}-{n}", digest.hex())
}

/// The release and N of a `binaryData` key `sha256-<hex>-<N>` (`oc`'s and oc-mirror's keys,
/// and the CVO's own, 0-based); `None` for a key of another shape.
pub fn parse_data_key(key: &str) -> Option<(Digest, u64)> {
    let (hex, n) = key.strip_prefix("sha256-")?.rsplit_once('-')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((Digest::from_hex(hex).ok()?, n.parse().ok()?))
}

/// The file name `oc` writes for a release: `signature-sha256-<first 16 hex>.json`
/// (`.yaml` for YAML).
pub fn file_name(digest: &Digest, format: Format) -> String {
    let ext = match format {
        Format::OcJson => "json",
        Format::Yaml => "yaml",
    };
    format!("signature-sha256-{}.{ext}", digest.short())
}

impl ConfigMap {
    /// The ConfigMap for one release with its signatures in store order (keys `-1`, `-2`, …).
    pub fn for_release<S: AsRef<[u8]>>(digest: &Digest, signatures: &[S]) -> ConfigMap {
        let b64 = base64::engine::general_purpose::STANDARD;
        let binary_data = signatures
            .iter()
            .enumerate()
            .map(|(i, s)| (data_key(digest, i + 1), b64.encode(s.as_ref())))
            .collect();
        let name = configmap_name(digest);
        assert_ne!(name, CVO_MANAGED_NAME);
        ConfigMap {
            kind: "ConfigMap",
            api_version: "v1",
            metadata: Metadata {
                name,
                namespace: NAMESPACE,
                labels: BTreeMap::from([(LABEL.to_string(), String::new())]),
                annotations: BTreeMap::new(),
            },
            binary_data,
        }
    }

    /// Render in `format`: the exact `oc` bytes, or YAML.
    pub fn render(&self, format: Format) -> Vec<u8> {
        match format {
            Format::OcJson => {
                let mut v = serde_json::to_vec(self).expect("a ConfigMap always serializes");
                v.push(b'\n');
                v
            }
            Format::Yaml => {
                // Plain one-line scalars: base64 stays on one line, as `oc get -o yaml` shows it.
                let mut o = serde_saphyr::SerializerOptions::default();
                o.prefer_block_scalars = false;
                serde_saphyr::to_string_with_options(self, o)
                    .expect("a ConfigMap always serializes")
                    .into_bytes()
            }
        }
    }
}

/// The signatures a signature ConfigMap holds, as `(release, N, bytes)` for each `binaryData`
/// key `sha256-<hex>-<N>`: a ConfigMap `oc` writes, or oc-mirror (whose N runs across releases).
/// JSON or YAML. Refused: anything but one ConfigMap in `openshift-config-managed` with the
/// verification label (the cluster reads no other), a key of another shape, base64 that does
/// not decode.
pub fn read_signatures(bytes: &[u8]) -> Result<Vec<(Digest, u64, Vec<u8>)>, String> {
    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(default)]
        name: String,
        #[serde(default)]
        namespace: String,
        #[serde(default)]
        labels: BTreeMap<String, String>,
    }
    #[derive(serde::Deserialize)]
    struct Object {
        #[serde(default)]
        kind: String,
        metadata: Meta,
        #[serde(default, rename = "binaryData")]
        binary_data: BTreeMap<String, String>,
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let o: Object = if first == Some(&b'{') {
        serde_json::from_slice(bytes).map_err(|e| format!("not a ConfigMap as JSON: {e}"))?
    } else {
        serde_saphyr::from_slice(bytes).map_err(|e| format!("not a ConfigMap as YAML: {e}"))?
    };
    let name = crate::text::escape_name(&o.metadata.name);
    if o.kind != "ConfigMap" {
        return Err(format!("kind {:?}, not ConfigMap", crate::text::escape_name(&o.kind)));
    }
    if o.metadata.namespace != NAMESPACE || !o.metadata.labels.contains_key(LABEL) {
        return Err(format!(
            "ConfigMap {name} is not a signature ConfigMap: the cluster reads those in {NAMESPACE} with the label {LABEL}"
        ));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::with_capacity(o.binary_data.len());
    for (key, value) in &o.binary_data {
        let Some((digest, n)) = parse_data_key(key) else {
            return Err(format!(
                "ConfigMap {name}: key {:?} is not sha256-<64 hex>-<N>",
                crate::text::escape_name(key)
            ));
        };
        let body = b64.decode(value.as_bytes()).map_err(|e| {
            format!(
                "ConfigMap {name}: key {}: not base64: {e}",
                crate::text::escape_name(key)
            )
        })?;
        out.push((digest, n, body));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_oc_bytes() {
        let d = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        let cm = ConfigMap::for_release(&d, &[b"sig1".as_slice(), b"sig2"]);
        let hex = "ab".repeat(32);
        let want = format!(
            "{{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{{\"name\":\"sha256-{hex}\",\"namespace\":\"openshift-config-managed\",\"labels\":{{\"release.openshift.io/verification-signatures\":\"\"}}}},\"binaryData\":{{\"sha256-{hex}-1\":\"c2lnMQ==\",\"sha256-{hex}-2\":\"c2lnMg==\"}}}}\n"
        );
        assert_eq!(String::from_utf8(cm.render(Format::OcJson)).unwrap(), want);
        assert_eq!(file_name(&d, Format::OcJson), "signature-sha256-abababababababab.json");
    }

    #[test]
    fn reads_back_what_it_renders() {
        let d = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        let cm = ConfigMap::for_release(&d, &[b"sig1".as_slice(), b"sig2"]);
        for format in [Format::OcJson, Format::Yaml] {
            let got = read_signatures(&cm.render(format)).unwrap();
            assert_eq!(got, [(d, 1, b"sig1".to_vec()), (d, 2, b"sig2".to_vec())]);
        }
        let other_ns = String::from_utf8(cm.render(Format::OcJson))
            .unwrap()
            .replace(NAMESPACE, "default");
        assert!(read_signatures(other_ns.as_bytes())
            .unwrap_err()
            .contains("not a signature ConfigMap"));
        let bad_key = String::from_utf8(cm.render(Format::OcJson))
            .unwrap()
            .replace("-1\"", "-x\"");
        assert!(read_signatures(bad_key.as_bytes())
            .unwrap_err()
            .contains("is not sha256-"));
    }

    #[test]
    fn data_keys_parse_back() {
        let d = Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
        assert_eq!(parse_data_key(&data_key(&d, 12)), Some((d, 12)));
        assert_eq!(parse_data_key(&format!("sha256-{}-0", d.hex())), Some((d, 0)));
        for bad in [
            format!("sha256-{}-", d.hex()),
            format!("sha256-{}-+1", d.hex()),
            format!("sha256-{}", d.hex()),
            format!("sha256-{}-1", "ab".repeat(31)),
            format!("sha512-{}-1", d.hex()),
        ] {
            assert_eq!(parse_data_key(&bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_sort_as_go_sorts_them() {
        let d = Digest::parse(&format!("sha256:{}", "cd".repeat(32))).unwrap();
        let sigs: Vec<Vec<u8>> = (1..=10).map(|i| vec![i]).collect();
        let cm = ConfigMap::for_release(&d, &sigs);
        let keys: Vec<_> = cm
            .binary_data
            .keys()
            .map(|k| k.rsplit('-').next().unwrap().to_string())
            .collect();
        assert_eq!(keys, ["1", "10", "2", "3", "4", "5", "6", "7", "8", "9"]);
    }
}
