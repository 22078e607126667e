//! containers/image's `manifest.OCI1FromManifest` on a `.sig` manifest: `json.Unmarshal` into
//! image-spec's `v1.Manifest`, then `ValidateUnambiguousManifestFormat` (no `fsLayers`,
//! `history` or `manifests`).
//!
//! Go's lax struct decoding, replayed on the parsed tree ([`super::gojson`]):
//! - field names match case-insensitively ([`field_matches`]); unknown fields are ignored;
//! - a repeated key decodes again into the same field: a string is overwritten, an object merges
//!   into the struct or map already there, an array decodes element by element into the slice
//!   already there (elements of an earlier, longer array come back into view), `null` leaves a
//!   string or struct as it was and resets a slice, map or pointer;
//! - a value of the wrong type anywhere in a known field (a number as an annotation, a
//!   fractional `size`, bad base64 in `data`) is an error for the whole manifest;
//! - the second decode, into `interface{}` fields named `config`, `fsLayers`, `history`, `layers`
//!   and `manifests`, fails on a number that overflows a float64, and the last of each of the
//!   three forbidden fields must be absent or `null`.

use std::collections::BTreeMap;

use super::gojson::{self, field_matches, Doc, Node};

/// A layer descriptor as decoded (image-spec `v1.Descriptor`, the parts that are used).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Layer {
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    pub urls: GoSlice<String>,
    /// `None` is Go's nil map.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Go's slice semantics under repeated decoding: the backing array keeps every element ever
/// decoded; `len` is what is visible; `None` is a nil slice.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GoSlice<T> {
    backing: Vec<T>,
    len: Option<usize>,
}

impl<T: Default> GoSlice<T> {
    fn decode(
        &mut self,
        doc: &Doc,
        i: usize,
        mut elem: impl FnMut(&Doc, usize, &mut T) -> Result<(), String>,
    ) -> Result<(), String> {
        match doc.node(i) {
            Node::Null => {
                self.backing.clear();
                self.len = None;
                Ok(())
            }
            Node::Array(items) => {
                for (k, &item) in items.iter().enumerate() {
                    if k >= self.backing.len() {
                        self.backing.push(T::default());
                    }
                    elem(doc, item, &mut self.backing[k])?;
                }
                self.len = Some(items.len());
                Ok(())
            }
            _ => Err(type_error("array")),
        }
    }

    fn into_vec(mut self) -> Option<Vec<T>> {
        let len = self.len?;
        self.backing.truncate(len);
        Some(self.backing)
    }

    /// The visible elements.
    pub(crate) fn visible(&self) -> &[T] {
        &self.backing[..self.len.unwrap_or(0)]
    }
}

fn type_error(want: &str) -> String {
    format!("json: cannot unmarshal into Go value of type {want}")
}

fn decode_string(doc: &Doc, i: usize, out: &mut String) -> Result<(), String> {
    match doc.node(i) {
        Node::String(s) => {
            out.clone_from(s);
            Ok(())
        }
        Node::Null => Ok(()),
        _ => Err(type_error("string")),
    }
}

fn decode_int(doc: &Doc, i: usize, out: &mut i64) -> Result<(), String> {
    match doc.node(i) {
        Node::Number(n) => {
            *out = gojson::parse_int64(n).ok_or_else(|| type_error("int64"))?;
            Ok(())
        }
        Node::Null => Ok(()),
        _ => Err(type_error("int64")),
    }
}

fn decode_string_map(doc: &Doc, i: usize, out: &mut Option<BTreeMap<String, String>>) -> Result<(), String> {
    match doc.node(i) {
        Node::Null => {
            *out = None;
            Ok(())
        }
        Node::Object(members) => {
            let map = out.get_or_insert_with(BTreeMap::new);
            for (k, v) in members {
                let mut s = String::new();
                decode_string(doc, *v, &mut s)?;
                map.insert(k.clone(), s);
            }
            Ok(())
        }
        _ => Err(type_error("map[string]string")),
    }
}

/// `[]byte`: a base64 string (Go's `StdEncoding`), or an array of numbers 0..=255.
fn decode_bytes(doc: &Doc, i: usize) -> Result<(), String> {
    match doc.node(i) {
        Node::Null => Ok(()),
        Node::String(s) => super::gotext::std_base64(s.as_bytes())
            .map(|_| ())
            .map_err(|off| format!("illegal base64 data at input byte {off}")),
        Node::Array(items) => {
            for &item in items {
                match doc.node(item) {
                    Node::Number(n) if gojson::parse_uint8(n).is_some() => {}
                    Node::Null => {}
                    _ => return Err(type_error("uint8")),
                }
            }
            Ok(())
        }
        _ => Err(type_error("[]uint8")),
    }
}

/// `v1.Platform`, type-checked only.
fn decode_platform(doc: &Doc, i: usize) -> Result<(), String> {
    match doc.node(i) {
        Node::Null => Ok(()),
        Node::Object(members) => {
            let mut scratch = String::new();
            let mut features: GoSlice<String> = GoSlice::default();
            for (k, v) in members {
                if ["architecture", "os", "os.version", "variant"]
                    .iter()
                    .any(|f| field_matches(k, f))
                {
                    decode_string(doc, *v, &mut scratch)?;
                } else if field_matches(k, "os.features") {
                    features.decode(doc, *v, decode_string)?;
                }
            }
            Ok(())
        }
        _ => Err(type_error("v1.Platform")),
    }
}

/// `v1.Descriptor` into `out` (merging, as Go does).
fn decode_descriptor(doc: &Doc, i: usize, out: &mut Layer) -> Result<(), String> {
    match doc.node(i) {
        Node::Null => Ok(()),
        Node::Object(members) => {
            let mut scratch = String::new();
            for (k, v) in members {
                let v = *v;
                if field_matches(k, "mediaType") {
                    decode_string(doc, v, &mut out.media_type)?;
                } else if field_matches(k, "digest") {
                    decode_string(doc, v, &mut out.digest)?;
                } else if field_matches(k, "size") {
                    decode_int(doc, v, &mut out.size)?;
                } else if field_matches(k, "urls") {
                    out.urls.decode(doc, v, decode_string)?;
                } else if field_matches(k, "annotations") {
                    decode_string_map(doc, v, &mut out.annotations)?;
                } else if field_matches(k, "data") {
                    decode_bytes(doc, v)?;
                } else if field_matches(k, "platform") {
                    decode_platform(doc, v)?;
                } else if field_matches(k, "artifactType") {
                    decode_string(doc, v, &mut scratch)?;
                }
            }
            Ok(())
        }
        _ => Err(type_error("v1.Descriptor")),
    }
}

/// `OCI1FromManifest`: the layers of a `.sig` manifest, or why Go refuses it.
pub(crate) fn oci1_from_manifest(data: &[u8]) -> Result<Vec<Layer>, String> {
    let doc = gojson::parse(data)?;
    let members = match doc.node(doc.root()) {
        // `null` decodes into nothing: a manifest without layers.
        Node::Null => return Ok(Vec::new()),
        Node::Object(m) => m,
        _ => return Err(type_error("manifest.OCI1")),
    };
    let mut layers: GoSlice<Layer> = GoSlice::default();
    let mut config = Layer::default();
    let mut subject: Option<Layer> = None;
    let mut annotations = None;
    let (mut scratch, mut version) = (String::new(), 0i64);
    for (k, v) in members {
        let v = *v;
        if field_matches(k, "schemaVersion") {
            decode_int(&doc, v, &mut version)?;
        } else if field_matches(k, "mediaType") || field_matches(k, "artifactType") {
            decode_string(&doc, v, &mut scratch)?;
        } else if field_matches(k, "config") {
            decode_descriptor(&doc, v, &mut config)?;
        } else if field_matches(k, "layers") {
            layers.decode(&doc, v, decode_descriptor)?;
        } else if field_matches(k, "subject") {
            if matches!(doc.node(v), Node::Null) {
                subject = None;
            } else {
                decode_descriptor(&doc, v, subject.get_or_insert_with(Layer::default))?;
            }
        } else if field_matches(k, "annotations") {
            decode_string_map(&doc, v, &mut annotations)?;
        }
    }
    // ValidateUnambiguousManifestFormat(…, AllowedFieldConfig|AllowedFieldLayers).
    let mut forbidden: [Option<bool>; 3] = [None; 3];
    for (k, v) in members {
        let v = *v;
        let slot = ["fsLayers", "history", "manifests"]
            .iter()
            .position(|f| field_matches(k, f));
        let watched = slot.is_some() || field_matches(k, "config") || field_matches(k, "layers");
        if watched && !doc.decodes_as_any(v) {
            return Err(format!(
                "json: cannot unmarshal number into Go struct field of type float64 ({k})"
            ));
        }
        if let Some(s) = slot {
            forbidden[s] = Some(!matches!(doc.node(v), Node::Null));
        }
    }
    let unexpected: Vec<&str> = ["fsLayers", "history", "manifests"]
        .iter()
        .zip(forbidden)
        .filter(|(_, present)| *present == Some(true))
        .map(|(n, _)| *n)
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "rejecting ambiguous manifest, unexpected fields {unexpected:?} in supposedly application/vnd.oci.image.manifest.v1+json"
        ));
    }
    Ok(layers.into_vec().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(s: &str) -> Result<Vec<Layer>, String> {
        oci1_from_manifest(s.as_bytes())
    }

    #[test]
    fn lax_names_and_unknown_fields() {
        let l = layers(r#"{"LAYERS":[{"MediaType":"a","DIGEST":"d","ſize":3,"x":{"y":[1]}}],"foo":1e999}"#).unwrap();
        assert_eq!(
            (l[0].media_type.as_str(), l[0].digest.as_str(), l[0].size),
            ("a", "d", 3)
        );
        assert_eq!(layers("null").unwrap(), vec![]);
        assert!(layers("[]").is_err());
        assert!(layers("{").is_err());
    }

    #[test]
    fn repeated_keys_merge_like_go() {
        let l = layers(
            r#"{"layers":[{"mediaType":"a","annotations":{"k":"v"}},{"digest":"x"}],"layers":[{"digest":"d"}]}"#,
        )
        .unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].media_type, "a");
        assert_eq!(l[0].digest, "d");
        assert_eq!(l[0].annotations.as_ref().unwrap()["k"], "v");
        // An element hidden by a shorter array comes back.
        let l = layers(r#"{"layers":[{},{"digest":"x"}],"layers":[{}],"layers":[{},{}]}"#).unwrap();
        assert_eq!(l[1].digest, "x");
        // null resets a slice.
        let l = layers(r#"{"layers":[{"digest":"x"}],"layers":null,"layers":[{}]}"#).unwrap();
        assert_eq!(l[0].digest, "");
        // null leaves a string; the last string wins.
        let l = layers(r#"{"layers":[{"mediaType":"a","mediaType":null,"MEDIATYPE":"b","mediaType":null}]}"#).unwrap();
        assert_eq!(l[0].media_type, "b");
        // Maps merge; null in a map is "".
        let l = layers(r#"{"layers":[{"annotations":{"a":"1"},"annotations":{"b":null}}]}"#).unwrap();
        let a = l[0].annotations.as_ref().unwrap();
        assert_eq!((a["a"].as_str(), a["b"].as_str()), ("1", ""));
    }

    #[test]
    fn wrong_types_fail() {
        for bad in [
            r#"{"layers":[{"annotations":{"a":1}}]}"#,
            r#"{"layers":[{"size":1.0}]}"#,
            r#"{"layers":[{"size":"1"}]}"#,
            r#"{"layers":{}}"#,
            r#"{"layers":[1]}"#,
            r#"{"schemaVersion":"2"}"#,
            r#"{"config":[]}"#,
            r#"{"subject":5}"#,
            r#"{"annotations":{"a":true}}"#,
            r#"{"layers":[{"data":"QQ"}]}"#,
            r#"{"layers":[{"data":[256]}]}"#,
            r#"{"layers":[{"platform":{"os.features":"x"}}]}"#,
            r#"{"layers":[{"urls":[1]}]}"#,
            r#"{"mediaType":5}"#,
        ] {
            assert!(layers(bad).is_err(), "{bad}");
        }
        assert!(layers(r#"{"layers":[{"data":"QQ==","size":null,"platform":{"os":"linux"}}]}"#).is_ok());
    }

    #[test]
    fn ambiguous_fields() {
        assert!(layers(r#"{"manifests":[]}"#).is_err());
        assert!(layers(r#"{"FSLAYERS":{}}"#).is_err());
        assert!(layers(r#"{"hiſtory":0}"#).is_err());
        assert!(layers(r#"{"manifests":null}"#).is_ok());
        assert!(layers(r#"{"manifests":[],"Manifests":null}"#).is_ok());
        assert!(layers(r#"{"config":{"x":1e400}}"#).is_err());
        assert!(layers(r#"{"layers":[{"x":1e400}]}"#).is_err());
        assert!(layers(r#"{"other":{"x":1e400}}"#).is_ok());
    }
}
