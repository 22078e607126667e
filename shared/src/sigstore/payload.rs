//! The signed payload as containers/image decodes it (`UntrustedSigstorePayload.UnmarshalJSON`,
//! built on `ParanoidUnmarshalJSONObject`):
//!
//! - the whole payload must be one JSON value (`json.Unmarshal`'s check; invalid UTF-8 inside
//!   strings is fine);
//! - the top level is an object with exactly `critical` and `optional`; `critical` with exactly
//!   `type`, `image`, `identity`; `image` with exactly `docker-manifest-digest`; `identity` with
//!   exactly `docker-reference`. Keys are compared after unescaping and case-sensitively; a
//!   repeated key, an unknown key or a missing key is an error;
//! - `optional` is `null` or an object without repeated keys whose unknown members may hold
//!   anything Go can decode into `interface{}` (no number overflowing a float64); `creator` is a
//!   string or `null`; `timestamp` is a number or `null`, decoded as a float64 that must be
//!   integral and within int64;
//! - `type`, the digest and the reference are strings or `null` (which decodes to `""`); `type`
//!   must be `cosign container image signature`; the digest must pass `digest.Parse`.

use super::gojson::{self, Doc, Node};
use super::gotext::validate_digest;

/// `critical.type` of a cosign signature payload.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// What a payload says, after it passed the strict decoding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Payload {
    /// `critical.image.docker-manifest-digest` (a valid digest).
    pub digest: String,
    /// `critical.identity.docker-reference` (may be empty: `null` decodes to "").
    pub reference: String,
    pub creator: Option<String>,
    pub timestamp: Option<i64>,
}

/// `ParanoidUnmarshalJSONObject`: the members of an object, refusing repeated keys.
fn object_members(doc: &Doc, i: usize) -> Result<&[(String, usize)], String> {
    let Node::Object(members) = doc.node(i) else {
        return Err("JSON object expected".into());
    };
    for (n, (k, _)) in members.iter().enumerate() {
        if members[..n].iter().any(|(seen, _)| seen == k) {
            return Err(format!("Duplicate key {k:?}"));
        }
    }
    Ok(members)
}

/// `ParanoidUnmarshalJSONObjectExactFields`: exactly these keys, each once; their values in order.
fn exact_fields<const N: usize>(doc: &Doc, i: usize, names: [&str; N]) -> Result<[usize; N], String> {
    let members = object_members(doc, i)?;
    let mut found = [None; N];
    for (k, v) in members {
        match names.iter().position(|n| n == k) {
            Some(p) => found[p] = Some(*v),
            None => return Err(format!("Unknown key {k:?}")),
        }
    }
    let mut out = [0; N];
    for (p, f) in found.iter().enumerate() {
        out[p] = f.ok_or_else(|| format!("Key {:?} missing in a JSON object", names[p]))?;
    }
    Ok(out)
}

/// Decoding into a Go `string`: a string, or `null` (leaving "").
fn go_string(doc: &Doc, i: usize) -> Result<String, String> {
    match doc.node(i) {
        Node::String(s) => Ok(s.clone()),
        Node::Null => Ok(String::new()),
        _ => Err("json: cannot unmarshal into Go value of type string".into()),
    }
}

/// Whether a float64 converts to int64 and back unchanged (Go on amd64: values outside
/// [-2⁶³, 2⁶³) do not).
fn integral_int64(t: f64) -> Option<i64> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    (t.fract() == 0.0 && (-TWO_63..TWO_63).contains(&t)).then_some(t as i64)
}

/// Decode a payload strictly; the error is Go's reason.
pub(crate) fn parse_payload(data: &[u8]) -> Result<Payload, String> {
    let doc = gojson::parse(data)?;
    let [critical, optional] = exact_fields(&doc, doc.root(), ["critical", "optional"])?;

    let (mut creator, mut timestamp) = (None, None);
    if !matches!(doc.node(optional), Node::Null) {
        for (k, v) in object_members(&doc, optional)? {
            match k.as_str() {
                "creator" => creator = Some(go_string(&doc, *v)?),
                "timestamp" => {
                    let t = match doc.node(*v) {
                        Node::Null => 0.0,
                        Node::Number(n) => gojson::parse_float64(n).ok_or_else(|| {
                            format!("json: cannot unmarshal number {n} into Go value of type float64")
                        })?,
                        _ => return Err("json: cannot unmarshal into Go value of type float64".into()),
                    };
                    timestamp = Some(t);
                }
                _ => {
                    if !doc.decodes_as_any(*v) {
                        return Err("json: cannot unmarshal number into Go value of type float64".into());
                    }
                }
            }
        }
    }
    let timestamp = match timestamp {
        None => None,
        Some(t) => Some(integral_int64(t).ok_or("Field optional.timestamp is not an integer")?),
    };

    let [kind, image, identity] = exact_fields(&doc, critical, ["type", "image", "identity"])?;
    let kind = go_string(&doc, kind)?;
    if kind != SIGNATURE_TYPE {
        return Err(format!("Unrecognized signature type {kind}"));
    }
    let [digest] = exact_fields(&doc, image, ["docker-manifest-digest"])?;
    let digest = go_string(&doc, digest)?;
    validate_digest(&digest).map_err(|why| format!("invalid docker-manifest-digest value {digest:?}: {why}"))?;
    let [reference] = exact_fields(&doc, identity, ["docker-reference"])?;
    let reference = go_string(&doc, reference)?;
    Ok(Payload {
        digest,
        reference,
        creator,
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

    fn doc(critical_extra: &str, optional: &str) -> String {
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"quay.io/a/b:1"}},"image":{{"docker-manifest-digest":"{D}"}},"type":"cosign container image signature"{critical_extra}}},"optional":{optional}}}"#
        )
    }

    #[test]
    fn accepts_what_go_accepts() {
        let p = parse_payload(doc("", r#"{"creator":"c","timestamp":1.795945253e9}"#).as_bytes()).unwrap();
        assert_eq!(p.timestamp, Some(1_795_945_253));
        assert_eq!(p.creator.as_deref(), Some("c"));
        assert_eq!(p.digest, D);
        for ok in [
            "null",
            "{}",
            r#"{"timestamp":-5}"#,
            r#"{"timestamp":null,"creator":null}"#,
            r#"{"x":{"a":1,"a":2},"y":[true]}"#,
            r#"{"timestamp":-9223372036854775808}"#,
            "{\"x\":\"\u{fffd}\"}",
        ] {
            assert!(parse_payload(doc("", ok).as_bytes()).is_ok(), "{ok}");
        }
        let escaped = doc("", "null").replacen("\"critical\"", "\"\\u0063ritical\"", 1);
        assert!(parse_payload(escaped.as_bytes()).is_ok());
        assert!(parse_payload(format!(" {}\n", doc("", "null")).as_bytes()).is_ok());
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in [
            r#"{"timestamp":1.5}"#,
            r#"{"timestamp":1e19}"#,
            r#"{"timestamp":9223372036854775808}"#,
            r#"{"timestamp":"1"}"#,
            r#"{"creator":5}"#,
            r#"{"creator":"a","creator":"b"}"#,
            r#"{"x":1e400}"#,
            r#"{"timestamp":1e400}"#,
            "[]",
            "5",
        ] {
            assert!(parse_payload(doc("", bad).as_bytes()).is_err(), "{bad}");
        }
        assert!(parse_payload(doc(r#","extra":1"#, "null").as_bytes()).is_err());
        assert!(parse_payload(doc(r#","type":"x""#, "null").as_bytes()).is_err());
        let base = doc("", "null");
        assert!(parse_payload(base.replace("\"critical\"", "\"Critical\"").as_bytes()).is_err());
        assert!(parse_payload(base.replace(",\"optional\":null", "").as_bytes()).is_err());
        assert!(parse_payload(format!("{base}x").as_bytes()).is_err());
        assert!(parse_payload(format!("{base}{base}").as_bytes()).is_err());
        assert!(parse_payload(base.replace("cosign container", "cosign  container").as_bytes()).is_err());
        assert!(parse_payload(base.replace(D, &D.to_uppercase().replace("SHA", "sha")).as_bytes()).is_err());
        assert!(parse_payload(b"null").is_err());
        // A null reference decodes (to "") and fails later, at the identity check.
        let null_ref = base.replace("\"quay.io/a/b:1\"", "null");
        assert_eq!(parse_payload(null_ref.as_bytes()).unwrap().reference, "");
    }
}
