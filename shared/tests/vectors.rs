//! Every signature vector (tests/fixtures, copied from the shared vectors) gets the verdict its
//! README states, one test per row.

use std::path::PathBuf;
use std::time::SystemTime;

use sigbundle::digest::Digest;
use sigbundle::verify::trust::ReleaseTrust;
use sigbundle::verify::{verify_release_signature, PayloadProblem, SignatureReport, Verdict, MAX_SIGNATURE_BYTES};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel)
}

fn check(keyring: &ReleaseTrust, digest: &str, file: &str) -> SignatureReport {
    let bytes = std::fs::read(fixture(file)).unwrap();
    verify_release_signature(
        keyring,
        &Digest::parse(digest).unwrap(),
        &bytes,
        SystemTime::now(),
        false,
    )
}

fn store_sig(store: &str, hex: &str) -> String {
    format!("stores/{store}/sha256={hex}/signature-1")
}

const RH_4_15_0: &str = "0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363";
const RH_4_10_18: &str = "195de2a5ef3af1083620a62a45ea61ac1233ffa27bbce7b30609a69775aeca19";
const RH_4_15_46: &str = "ea0429e14dc9ff007f56d5db2b75209c2510d81e6869194e33a53352d2b6a4fa";
const RH_V3: &str = "e3f12513a4b22a2d7c0e7c9207f52128113758d9d68c7d06b11a0ac7672966f7";
const CI_2019: &str = "edd9824f0404f1a139688017e7001370e2f3fbc088b94da84506653b473fe140";
const CI_DIGEST: &str = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55";
const RH_RELEASE_KEY_2: &str = "567E347AD0044ADE55BA8A5F199E2F91FD431D51";

fn red_hat_valid(hex: &str, identity: &str) {
    let r = check(
        &ReleaseTrust::default_release(),
        &format!("sha256:{hex}"),
        &store_sig("redhat", hex),
    );
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    assert_eq!(r.signer_cert.as_deref(), Some(RH_RELEASE_KEY_2));
    assert_eq!(r.identity.as_deref(), Some(identity));
    assert!(r.created.is_some());
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn redhat_4_15_0_valid() {
    red_hat_valid(RH_4_15_0, "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64");
}

#[test]
fn redhat_4_10_18_valid() {
    red_hat_valid(RH_4_10_18, "quay.io/openshift-release-dev/ocp-release:4.10.18-x86_64");
}

#[test]
fn redhat_4_15_46_valid() {
    red_hat_valid(RH_4_15_46, "quay.io/openshift-release-dev/ocp-release:4.15.46-x86_64");
}

#[test]
fn redhat_v3_signature_packet_valid() {
    let r = check(
        &ReleaseTrust::default_release(),
        &format!("sha256:{RH_V3}"),
        &store_sig("redhat-v3", RH_V3),
    );
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    assert_eq!(r.signer_cert.as_deref(), Some(RH_RELEASE_KEY_2));
}

#[test]
fn openshift_ci_2019_expired_key_still_valid() {
    let ring = ReleaseTrust::from_files(&[fixture("keys/openshift-ci-2019.asc")]).unwrap();
    let r = check(&ring, &format!("sha256:{CI_2019}"), &store_sig("openshift-ci", CI_2019));
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    assert_eq!(
        r.identity.as_deref(),
        Some("registry.svc.ci.openshift.org/ocp/release:4.0.0-0.ci-2019-04-19-181452")
    );
}

#[test]
fn redhat_signature_for_another_digest_is_digest_mismatch() {
    let r = check(
        &ReleaseTrust::default_release(),
        &format!("sha256:{RH_4_10_18}"),
        &store_sig("redhat", RH_4_15_0),
    );
    assert_eq!(
        r.verdict,
        Verdict::DigestMismatch {
            expected: format!("sha256:{RH_4_10_18}"),
            got: format!("sha256:{RH_4_15_0}")
        }
    );
}

#[test]
fn redhat_signature_untrusted_under_other_keyring() {
    let ring = ReleaseTrust::from_files(&[fixture("keys/openshift-ci-4.asc")]).unwrap();
    let r = check(&ring, &format!("sha256:{RH_4_15_0}"), &store_sig("redhat", RH_4_15_0));
    assert!(matches!(r.verdict, Verdict::UntrustedSigner { .. }), "{r:?}");
    assert!(r.verdict.to_string().contains("199E2F91FD431D51"), "{}", r.verdict);
}

fn ci(file: &str) -> SignatureReport {
    let ring = ReleaseTrust::from_files(&[fixture("malformed/containers-image/pubring.gpg")]).unwrap();
    check(&ring, CI_DIGEST, &format!("malformed/containers-image/{file}"))
}

#[test]
fn ci_image_signature_valid() {
    let r = ci("image.signature");
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    assert_eq!(r.identity.as_deref(), Some("testing/manifest"));
}

#[test]
fn ci_no_optional_fields_valid() {
    assert_eq!(ci("no-optional-fields.signature").verdict, Verdict::Valid);
}

#[test]
fn ci_subkey_valid() {
    for f in ["subkey.signature", "subkey.signature-v3"] {
        let r = ci(f);
        assert_eq!(r.verdict, Verdict::Valid, "{f}: {r:?}");
        assert_ne!(r.signer, r.signer_cert, "{f}: signed by a subkey");
    }
}

#[test]
fn ci_corrupt_is_bad_signature() {
    for f in ["corrupt.signature", "corrupt.signature-v3"] {
        let r = ci(f);
        assert!(matches!(r.verdict, Verdict::BadSignature { .. }), "{f}: {r:?}");
    }
}

#[test]
fn ci_expired_is_rejected() {
    let r = ci("expired.signature");
    assert!(matches!(r.verdict, Verdict::ExpiredSignature { .. }), "{r:?}");
}

#[test]
fn ci_invalid_blob_is_bad_payload() {
    for f in ["invalid-blob.signature", "invalid-blob.signature-v3"] {
        let r = ci(f);
        assert!(
            matches!(
                r.verdict,
                Verdict::BadPayload {
                    problem: PayloadProblem::NotJson,
                    ..
                }
            ),
            "{f}: {r:?}"
        );
    }
}

#[test]
fn ci_invalid_reference_accepted_with_warning() {
    let r = ci("invalid-reference.signature");
    assert_eq!(r.verdict, Verdict::Valid, "{r:?}");
    assert_eq!(r.identity.as_deref(), Some("UPPERCASEISINVALID"));
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("not a valid docker reference"));
}

#[test]
fn ci_unknown_key_is_untrusted() {
    for f in ["unknown-key.signature", "unknown-key.signature-v3"] {
        let r = ci(f);
        assert!(matches!(r.verdict, Verdict::UntrustedSigner { .. }), "{f}: {r:?}");
    }
}

#[test]
fn ci_subkey_revoked_is_revoked_key() {
    for f in ["subkey-revoked.signature", "subkey-revoked.signature-v3"] {
        let r = ci(f);
        assert!(matches!(r.verdict, Verdict::RevokedKey { .. }), "{f}: {r:?}");
    }
}

#[test]
fn oversized_and_garbage_are_bad_signatures() {
    let ring = ReleaseTrust::default_release();
    let d = Digest::parse(&format!("sha256:{RH_4_15_0}")).unwrap();
    let r = verify_release_signature(
        &ring,
        &d,
        &vec![0u8; MAX_SIGNATURE_BYTES as usize + 1],
        SystemTime::now(),
        false,
    );
    assert!(
        r.verdict.to_string().contains(&MAX_SIGNATURE_BYTES.to_string()),
        "{}",
        r.verdict
    );
    let r = verify_release_signature(&ring, &d, b"hello", SystemTime::now(), false);
    assert!(matches!(r.verdict, Verdict::BadSignature { .. }), "{r:?}");
}

/// Inputs the fuzzers found (tests/fixtures/fuzz): each must give a verdict, not a crash.
#[test]
fn fuzz_findings_are_handled() {
    use sigbundle::bundle::{read_bundle, CheckOptions, Limits};
    let dir = fixture("fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("bundle_reader") {
            let opts = CheckOptions {
                packer_keys: None,
                allow_unsigned: true,
                release_keys: ReleaseTrust::default_release(),
                strict: false,
                now: SystemTime::now(),
                limits: Limits {
                    max_total: 8 << 20,
                    ..Limits::default()
                },
                keep_bodies: true,
                progress: None,
                require_signers: 1,
            };
            let _ = read_bundle(data.as_slice(), &opts, None);
            n += 1;
        }
    }
    assert!(n >= 1);
}

/// The 51 signatures the cluster-version operator's own code judged
/// (tests/fixtures/cvo-differential/expected.tsv): sigbundle accepts exactly those it accepted.
#[test]
fn cvo_differential_cases_agree_with_the_cluster() {
    let root = fixture("cvo-differential");
    let tsv = std::fs::read_to_string(root.join("expected.tsv")).unwrap();
    let digest = Digest::parse("sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363").unwrap();
    let mut n = 0;
    let mut wrong = Vec::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (case, keyring, cluster) = (cols[0], cols[1], cols[2]);
        let trust = ReleaseTrust::from_files(&[root.join("keys").join(keyring)]).unwrap();
        let sig = root
            .join("stores")
            .join(case)
            .join(format!("sha256={}", digest.hex()))
            .join("signature-1");
        let r = verify_release_signature(&trust, &digest, &std::fs::read(&sig).unwrap(), SystemTime::now(), false);
        if r.verdict.is_valid() != (cluster == "OK") {
            wrong.push(format!("{case}: cluster {cluster:?}, sigbundle {}", r.verdict));
        }
        n += 1;
    }
    assert_eq!(n, 51);
    assert!(wrong.is_empty(), "{} disagreements:\n{}", wrong.len(), wrong.join("\n"));
}
