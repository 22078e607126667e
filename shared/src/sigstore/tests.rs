//! The verifier against the real `.sig` artifacts in `tests/fixtures/sigstore/` and the oracle's
//! verdicts recorded there (its README), and the disagreement cases of the differential run
//! (`tests/fixtures/sigstore/cases/`).

use std::path::{Path, PathBuf};

use super::verify::{MAX_MANIFEST_SIZE, MAX_SIGNATURE_SIZE, OCI_MANIFEST_MEDIA_TYPE};
use super::*;

const RSA: &str = "856dce733e1320708609328a90aa4d34124f06dd0c7138810185e5f67829a8d9";
const EC: &str = "ad1ff174817401a055a5ed260ff28e5a89a99e55f6bdbe3c9e7fe15982421db3";
const R: &str = "quay.io/openshift-release-dev/ocp-release";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/sigstore")
}

fn read(rel: &str) -> Vec<u8> {
    let p = fixtures().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn art(name: &str) -> Vec<u8> {
    read(&format!("example-sig-artifact/{name}"))
}

fn key(name: &str) -> PublicKey {
    let pem = if name == "release-3" {
        read("redhat-release-3-sigstore.pub")
    } else {
        art(name)
    };
    PublicKey::from_pem(&pem).unwrap()
}

fn trust(k: &str) -> Trust {
    Trust::new(vec![key(k)], SignedIdentity::MatchRepoDigestOrExact).unwrap()
}

fn judge(manifest: &[u8], d: &str, key_name: &str, reference: &str) -> Report {
    let payload = art(&format!("{d}.payload"));
    let sig = SigManifest {
        body: manifest,
        content_type: OCI_MANIFEST_MEDIA_TYPE,
    };
    let md = format!("sha256:{d}");
    let image = Image {
        reference,
        manifest_digest: &md,
    };
    verify_with_blobs(Some(sig), [payload], &image, &trust(key_name)).unwrap()
}

#[test]
fn keys_and_fingerprints() {
    let rsa = key("rsa4096.pub");
    assert_eq!(rsa.key_type(), KeyType::Rsa { bits: 4096 });
    assert_eq!(
        rsa.fingerprint(),
        "d893a78b352ab1471ce8cfe85e9f7fff6586db811d35b603b277b6a9387dfe78"
    );
    let ec = key("ec-p256.pub");
    assert_eq!(ec.key_type(), KeyType::Ecdsa(Curve::P256));
    assert_eq!(
        ec.fingerprint(),
        "2d6ab4068ff663080653f7952bc5ee0d1f73765a3843339652638f0aa3815c0b"
    );
    let rh = Trust::release();
    assert_eq!(
        rh.keys()[0].fingerprint(),
        "ba9d26350d78893a20f337e2153a113108bfcf064085afaee60d446e63405576"
    );
    assert_eq!(rh.keys(), &[key("release-3")]);
    // Text before the block is ignored; a later block is ignored.
    let mut two = b"some words\n".to_vec();
    two.extend(art("ec-p256.pub"));
    two.extend(art("rsa4096.pub"));
    assert_eq!(PublicKey::from_pem(&two).unwrap(), ec);
}

#[test]
fn the_oracle_s_verdicts_on_the_real_artifacts() {
    use Verdict::*;
    let rows: [(&str, &str, &str, [Verdict; 5]); 9] = [
        (
            RSA,
            "856",
            "rsa4096.pub",
            [Valid, Valid, IdentityMismatch, IdentityMismatch, IdentityMismatch],
        ),
        (
            RSA,
            "copied-856",
            "rsa4096.pub",
            [Valid, Valid, IdentityMismatch, IdentityMismatch, IdentityMismatch],
        ),
        (RSA, "856", "ec-p256.pub", [BadSignature; 5]),
        (RSA, "856", "release-3", [BadSignature; 5]),
        (
            EC,
            "ad1",
            "ec-p256.pub",
            [Valid, Valid, IdentityMismatch, IdentityMismatch, IdentityMismatch],
        ),
        (
            EC,
            "copied-ad1",
            "ec-p256.pub",
            [Valid, Valid, IdentityMismatch, IdentityMismatch, IdentityMismatch],
        ),
        (
            EC,
            "rewritten",
            "ec-p256.pub",
            [Valid, Valid, IdentityMismatch, IdentityMismatch, IdentityMismatch],
        ),
        (EC, "ad1", "rsa4096.pub", [BadSignature; 5]),
        (EC, "rewritten", "release-3", [BadSignature; 5]),
    ];
    for (d, which, k, verdicts) in rows {
        let file = match which {
            "856" | "ad1" => format!("{d}.sig.manifest"),
            "rewritten" => "rewritten.sig.manifest".into(),
            _ => format!("copied-{d}.sig.manifest"),
        };
        let manifest = art(&file);
        let refs = [
            format!("{R}@sha256:{d}"),
            format!("{R}:4.99.0-x86_64"),
            format!("{R}:4.99.1-x86_64"),
            format!("quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:{d}"),
            format!("mirror.example:5000/ocp/release@sha256:{d}"),
        ];
        for (r, want) in refs.iter().zip(verdicts) {
            let rep = judge(&manifest, d, k, r);
            assert_eq!(rep.verdict, want, "{file} {k} {r}: {}", rep.reason);
            if want == Valid {
                assert_eq!(rep.key_fingerprint, Some(key(k).fingerprint()));
                assert_eq!(
                    rep.identity.as_deref(),
                    Some("quay.io/openshift-release-dev/ocp-release:4.99.0-x86_64")
                );
                assert_eq!(rep.signed_digest, Some(format!("sha256:{d}")));
                assert_eq!(rep.layer, Some(0));
            }
        }
    }
    let rep = judge(
        &art(&format!("{RSA}.sig.manifest")),
        RSA,
        "ec-p256.pub",
        &format!("{R}@sha256:{RSA}"),
    );
    assert!(
        rep.reason.contains("ecdsa: Invalid IEEE_P1363 encoded bytes"),
        "{}",
        rep.reason
    );
    let rep = judge(
        &art(&format!("{RSA}.sig.manifest")),
        RSA,
        "release-3",
        &format!("{R}@sha256:{RSA}"),
    );
    assert!(rep.reason.contains("crypto/rsa: verification error"), "{}", rep.reason);
}

#[test]
fn the_sigbin_files_are_the_decoded_annotations() {
    for d in [RSA, EC] {
        let m: serde_json::Value = serde_json::from_slice(&art(&format!("{d}.sig.manifest"))).unwrap();
        let b64 = m["layers"][0]["annotations"][verify::SIGNATURE_ANNOTATION]
            .as_str()
            .unwrap();
        assert_eq!(gotext::std_base64(b64.as_bytes()).unwrap(), art(&format!("{d}.sigbin")));
    }
}

fn rsa_judge(body: &[u8], content_type: &str, blobs: &[Vec<u8>]) -> Report {
    let md = format!("sha256:{RSA}");
    let r = format!("{R}@sha256:{RSA}");
    let image = Image {
        reference: &r,
        manifest_digest: &md,
    };
    let sig = SigManifest { body, content_type };
    verify_with_blobs(Some(sig), blobs, &image, &trust("rsa4096.pub")).unwrap()
}

#[test]
fn what_happens_around_the_real_artifact() {
    let body = art(&format!("{RSA}.sig.manifest"));
    let payload = art(&format!("{RSA}.payload"));
    let ok = |ct: &str| rsa_judge(&body, ct, std::slice::from_ref(&payload)).verdict;
    assert_eq!(ok(OCI_MANIFEST_MEDIA_TYPE), Verdict::Valid);
    assert_eq!(
        ok("Application/VND.OCI.image.manifest.v1+JSON; charset=utf-8"),
        Verdict::Valid
    );
    assert_eq!(ok(""), Verdict::WrongMediaType);
    assert_eq!(
        ok("application/vnd.docker.distribution.manifest.v2+json"),
        Verdict::WrongMediaType
    );
    assert_eq!(
        ok("application/vnd.oci.image.manifest.v1+json; a=1; a=2"),
        Verdict::WrongMediaType
    );
    // The blob is missing: the fetch fails and the image is refused.
    assert_eq!(
        rsa_judge(&body, OCI_MANIFEST_MEDIA_TYPE, &[]).verdict,
        Verdict::FetchFailed
    );
    // No .sig tag.
    let md = format!("sha256:{RSA}");
    let r = format!("{R}@sha256:{RSA}");
    let image = Image {
        reference: &r,
        manifest_digest: &md,
    };
    let t = trust("rsa4096.pub");
    assert_eq!(
        verify_with_blobs(None, [&payload], &image, &t).unwrap().verdict,
        Verdict::NoSignature
    );
    // Bytes that do not match the digest.
    let mut wrong = payload.clone();
    wrong[0] = b' ';
    let bad = verify(
        Some(SigManifest {
            body: &body,
            content_type: OCI_MANIFEST_MEDIA_TYPE,
        }),
        |_| Ok(wrong.clone()),
        &image,
        &t,
    )
    .unwrap();
    assert_eq!(bad.verdict, Verdict::BlobDigestMismatch);
    // Too large blob and manifest.
    let big = verify(
        Some(SigManifest {
            body: &body,
            content_type: OCI_MANIFEST_MEDIA_TYPE,
        }),
        |_| Ok(vec![b' '; MAX_SIGNATURE_SIZE + 1]),
        &image,
        &t,
    )
    .unwrap();
    assert_eq!(big.verdict, Verdict::TooLarge);
    let mut huge = body.clone();
    huge.resize(MAX_MANIFEST_SIZE + 1, b' ');
    assert_eq!(
        rsa_judge(&huge, OCI_MANIFEST_MEDIA_TYPE, std::slice::from_ref(&payload)).verdict,
        Verdict::TooLarge
    );
    let mut exact = body.clone();
    exact.resize(MAX_MANIFEST_SIZE, b' ');
    assert_eq!(
        rsa_judge(&exact, OCI_MANIFEST_MEDIA_TYPE, std::slice::from_ref(&payload)).verdict,
        Verdict::Valid
    );
    // Inputs the caller got wrong.
    let e = verify_with_blobs(
        None,
        [&payload],
        &Image {
            reference: "Quay.io/UPPER/x",
            manifest_digest: &md,
        },
        &t,
    );
    assert!(matches!(e, Err(VerifyError::Reference(..))));
    let e = verify_with_blobs(
        None,
        [&payload],
        &Image {
            reference: &r,
            manifest_digest: "sha512:00",
        },
        &t,
    );
    assert!(matches!(e, Err(VerifyError::ManifestDigest(_))));
    assert_eq!(sigstore_tag(&md).unwrap(), format!("sha256-{RSA}.sig"));
}

#[test]
fn two_layers_first_accepted_wins_and_reasons_pile_up() {
    let rsa_body = String::from_utf8(art(&format!("{RSA}.sig.manifest"))).unwrap();
    let ec_body = String::from_utf8(art(&format!("{EC}.sig.manifest"))).unwrap();
    let layer = |b: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        v["layers"][0].to_string()
    };
    let both = format!(r#"{{"layers":[{},{}]}}"#, layer(&ec_body), layer(&rsa_body));
    let blobs = [art(&format!("{RSA}.payload")), art(&format!("{EC}.payload"))];
    let rep = rsa_judge(both.as_bytes(), OCI_MANIFEST_MEDIA_TYPE, &blobs);
    assert_eq!(rep.verdict, Verdict::Valid);
    assert_eq!(rep.layer, Some(1));
    assert_eq!(rep.rejections.len(), 1);
    assert_eq!(rep.rejections[0].verdict, Verdict::BadSignature);
    let none = format!(r#"{{"layers":[{},{}]}}"#, layer(&ec_body), layer(&ec_body));
    let rep = rsa_judge(none.as_bytes(), OCI_MANIFEST_MEDIA_TYPE, &blobs);
    assert_eq!(rep.verdict, Verdict::NoneAccepted);
    assert!(rep
        .reason
        .starts_with("None of the signatures were accepted, reasons: "));
    let other = format!(
        r#"{{"layers":[{}]}}"#,
        layer(&rsa_body).replace(
            verify::SIMPLESIGNING_MEDIA_TYPE,
            "application/vnd.dsse.envelope.v1+json"
        )
    );
    let rep = rsa_judge(other.as_bytes(), OCI_MANIFEST_MEDIA_TYPE, &blobs);
    assert_eq!((rep.verdict, rep.non_signature_layers), (Verdict::NoSignature, 1));
}

#[test]
fn the_embedded_policy_reads_back() {
    let p = ClusterImagePolicy::openshift();
    assert_eq!(p.scopes.len(), 3);
    let yaml = String::from_utf8(read("../../../shared/keys/openshift-cluster-image-policy.yaml")).unwrap();
    let remap = yaml.replace(
        "    rootOfTrust:",
        "    signedIdentity:\n      matchPolicy: RemapIdentity\n      remapIdentity:\n        prefix: mirror.example:5000/ocp\n        signedPrefix: quay.io/openshift-release-dev\n    rootOfTrust:",
    );
    let p = ClusterImagePolicy::from_yaml(&remap).unwrap();
    assert_eq!(
        p.trust.identity(),
        &SignedIdentity::RemapIdentity {
            prefix: "mirror.example:5000/ocp".into(),
            signed_prefix: "quay.io/openshift-release-dev".into()
        }
    );
    let rekor = yaml.replace("        keyData:", "        rekorKeyData: eA==\n        keyData:");
    assert!(matches!(ClusterImagePolicy::from_yaml(&rekor), Err(PolicyError::Rekor)));
}

/// Each `tests/fixtures/sigstore/cases/<name>/` holds `case.json` (the inputs, the oracle's
/// verdict and its class) and the files it names; the verifier must reach the same verdict.
#[test]
fn disagreement_cases_from_the_differential_run() {
    let dir = fixtures().join("cases");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    let mut n = 0;
    for e in entries {
        let path = e.unwrap().path();
        if !path.join("case.json").is_file() {
            continue;
        }
        n += 1;
        let case: serde_json::Value = serde_json::from_slice(&std::fs::read(path.join("case.json")).unwrap()).unwrap();
        let (accept, class, _) = run_case(&path, &case);
        // A difference that is by design records what the verifier says instead ("rust").
        let want = if case["rust"].is_object() {
            &case["rust"]
        } else {
            &case["oracle"]
        };
        let want_accept = want["accept"].as_bool().unwrap();
        let want_class = want["class"].as_str().unwrap();
        assert_eq!(
            (accept, class.as_str()),
            (want_accept, want_class),
            "{}: oracle said {}",
            path.display(),
            case["oracle"]["message"]
        );
    }
    assert!(n > 0, "no cases in {}", dir.display());
}

/// Run one case directory (the format `scripts/sigstore-difftest/gen.py` writes): whether the
/// image is accepted, the verdict's name (`bad-key` when a trusted key does not load,
/// `bad-policy` when the identity rule is invalid) and the reason.
fn run_case(dir: &Path, case: &serde_json::Value) -> (bool, String, String) {
    match run_case_report(dir, case) {
        Ok(r) => (r.verdict.is_valid(), r.verdict.name().to_string(), r.reason),
        Err((class, e)) => (false, class.into(), e),
    }
}

fn run_case_report(dir: &Path, case: &serde_json::Value) -> Result<Report, (&'static str, String)> {
    let s = |k: &str| case[k].as_str().map(str::to_string);
    let body = s("sig_manifest").map(|f| std::fs::read(dir.join(f)).unwrap());
    let blobs: Vec<Vec<u8>> = case["blobs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| std::fs::read(dir.join(f.as_str().unwrap())).unwrap())
                .collect()
        })
        .unwrap_or_default();
    let keys: Result<Vec<PublicKey>, _> = case["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PublicKey::from_pem(&std::fs::read(dir.join(f.as_str().unwrap())).unwrap()))
        .collect();
    let field = |k: &str| case["identity"][k].as_str().unwrap_or_default().to_string();
    let identity = match case["identity"]["type"].as_str().unwrap_or("matchRepoDigestOrExact") {
        "remapIdentity" => SignedIdentity::RemapIdentity {
            prefix: field("prefix"),
            signed_prefix: field("signedPrefix"),
        },
        "matchExact" => SignedIdentity::MatchExact,
        "matchRepository" => SignedIdentity::MatchRepository,
        "exactReference" => SignedIdentity::ExactReference(field("dockerReference")),
        "exactRepository" => SignedIdentity::ExactRepository(field("dockerRepository")),
        "matchRepoDigestOrExact" => SignedIdentity::MatchRepoDigestOrExact,
        other => panic!("identity type {other}"),
    };
    let keys = keys.map_err(|e| ("bad-key", format!("parsing public key: {e}")))?;
    let trust = Trust::new(keys, identity).map_err(|e| ("bad-policy", e.to_string()))?;
    let content_type = s("content_type").unwrap_or_default();
    let reference = s("reference").unwrap();
    let md = s("manifest_digest").unwrap();
    // The harness's registry: blobs found by their sha256 and sha512 digests only.
    let by_digest: Vec<(String, Vec<u8>)> = blobs
        .iter()
        .flat_map(|b| {
            [
                gotext::DigestAlgorithm::Sha256.digest_of(b),
                gotext::DigestAlgorithm::Sha512.digest_of(b),
            ]
            .map(|d| (d, b.clone()))
        })
        .collect();
    let fetch = |d: &Descriptor| {
        by_digest
            .iter()
            .find(|(k, _)| *k == d.digest)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| FetchError(format!("blob unknown to registry ({})", d.digest)))
    };
    let sig = body.as_deref().map(|b| SigManifest {
        body: b,
        content_type: &content_type,
    });
    verify(
        sig,
        fetch,
        &Image {
            reference: &reference,
            manifest_digest: &md,
        },
        &trust,
    )
    .map_err(|e| ("bad-input", e.to_string()))
}

/// The Rust side of the differential run: judge every case under `$SIGSTORE_DIFFTEST_DIR` and
/// write `rust.jsonl` there (`scripts/sigstore-difftest/run.sh` runs it).
#[test]
#[ignore = "run by scripts/sigstore-difftest"]
fn difftest_judge() {
    use std::io::Write;
    let root = PathBuf::from(std::env::var("SIGSTORE_DIFFTEST_DIR").expect("SIGSTORE_DIFFTEST_DIR"));
    let mut names: Vec<PathBuf> = std::fs::read_dir(root.join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    names.sort();
    let mut out = std::io::BufWriter::new(std::fs::File::create(root.join("rust.jsonl")).unwrap());
    for dir in names {
        let case: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("case.json")).unwrap()).unwrap();
        let (accept, class, reason) = run_case(&dir, &case);
        let line = serde_json::json!({
            "name": dir.file_name().unwrap().to_string_lossy(),
            "accept": accept,
            "class": class,
            "reason": reason,
        });
        writeln!(out, "{line}").unwrap();
    }
}
