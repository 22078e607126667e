//! Two-person control: `pack cosign` adds a second packer signature without changing any other
//! byte of the archive, `unpack … --require-signers N` needs N distinct trusted signers and names
//! who did not sign, `inspect` shows the claimed signers, and GnuPG verifies both signatures.

mod common;

use common::*;

/// The bytes of a tar's member `i` (header and padded data) start at the returned offset.
fn member_offsets(tar: &[u8]) -> Vec<usize> {
    let mut at = 0;
    let mut out = Vec::new();
    while at + 512 <= tar.len() && tar[at..at + 512].iter().any(|&b| b != 0) {
        out.push(at);
        let size_field = std::str::from_utf8(&tar[at + 124..at + 136]).unwrap();
        let size = usize::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap();
        at += 512 + size.div_ceil(512) * 512;
    }
    out.push(at);
    out
}

/// The archive with member 1 (`manifest.json.asc`) cut out: every other byte, in order.
fn without_signature(tar: &[u8]) -> Vec<u8> {
    let o = member_offsets(tar);
    [&tar[..o[1]], &tar[o[2]..]].concat()
}

#[test]
fn cosign_adds_one_signature_and_require_signers_counts_distinct_trusted_ones() {
    let env = Env::new();
    let (a_key, a_pub) = env.packer_key("a");
    let (b_key, b_pub) = env.packer_key("b");
    let (_, c_pub) = env.packer_key("c");
    let (a_pub, b_pub, c_pub) = (
        a_pub.to_str().unwrap(),
        b_pub.to_str().unwrap(),
        c_pub.to_str().unwrap(),
    );
    let (a_fpr, _) = gpg_fingerprints(std::path::Path::new(a_pub));
    let (b_fpr, _) = gpg_fingerprints(std::path::Path::new(b_pub));
    let (c_fpr, _) = gpg_fingerprints(std::path::Path::new(c_pub));
    env.pack(Some(&a_key), "b.tar", "none", &[RH_4_15_0, RH_4_10_18])
        .code(0);
    let before = std::fs::read(env.path("b.tar")).unwrap();
    let three = ["--packer-key", a_pub, "--packer-key", b_pub, "--packer-key", c_pub];
    let verify = |n: &str| {
        let mut args = vec!["verify", "b.tar"];
        args.extend(three);
        args.extend(["--require-signers", n]);
        env.run("unpack", &args)
    };

    // One signer where two are required: refused, naming who signed and who did not.
    let r = verify("2");
    r.code(1)
        .stderr_has("2 trusted packer signatures required, 1 found")
        .stderr_has(&format!("signed by {a_fpr}"))
        .stderr_has(&b_fpr)
        .stderr_has(&c_fpr);

    // B checks A's signature and adds its own, in place.
    let r = env.run(
        "pack",
        &[
            "cosign",
            "b.tar",
            "--sign-key",
            b_key.to_str().unwrap(),
            "--packer-key",
            a_pub,
        ],
    );
    r.code(0).stderr_has("2 packer signature(s)");
    let after = std::fs::read(env.path("b.tar")).unwrap();
    use sha2::Digest;
    assert_eq!(r.stdout.trim(), hex::encode(sha2::Sha256::digest(&after)));
    assert_ne!(before, after);
    assert_eq!(
        without_signature(&before),
        without_signature(&after),
        "only manifest.json.asc changed"
    );
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("b.tar.receipt.json")).unwrap()).unwrap();
    assert_eq!(receipt["bundle_sha256"], r.stdout.trim());

    // Two distinct signers now: 2 of 3 passes and names both; 3 of 3 does not.
    let r = verify("2");
    r.code(0)
        .stdout_has(&format!("packer     {a_fpr} (signature verified"))
        .stdout_has(&format!("cosigner   {b_fpr} (signature verified"));
    verify("3").code(1).stderr_has(&format!("not signed by {c_fpr}"));
    let mut args = vec!["verify", "b.tar", "--json"];
    args.extend(three);
    let j: serde_json::Value = serde_json::from_str(&env.run("unpack", &args).stdout).unwrap();
    assert_eq!(j["packer"]["fingerprint"], a_fpr.as_str());
    assert_eq!(j["packer"]["cosigners"][0]["fingerprint"], b_fpr.as_str());
    // emit and apply take the same options.
    let mut args = vec!["emit", "b.tar", "--to-dir", "cms", "--require-signers", "2"];
    args.extend(three);
    env.run("unpack", &args).code(0);
    // The audit record names both: the packer and its cosigner (absent for one signer).
    let recs = env.audit_records();
    let last = recs.last().unwrap();
    assert_eq!(last["action"], "emit");
    assert_eq!(last["packer"], a_fpr.as_str());
    assert_eq!(last["cosigners"], serde_json::json!([b_fpr]));
    assert!(recs[0].get("cosigners").is_none(), "{}", recs[0]);

    // The same key twice is refused, and the bundle is left as it was.
    env.run(
        "pack",
        &[
            "cosign",
            "b.tar",
            "--sign-key",
            b_key.to_str().unwrap(),
            "--packer-key",
            a_pub,
        ],
    )
    .code(2)
    .stderr_has(&format!("already signed by packer key {b_fpr}"));
    env.run(
        "pack",
        &[
            "cosign",
            "b.tar",
            "--sign-key",
            a_key.to_str().unwrap(),
            "--packer-key",
            a_pub,
        ],
    )
    .code(2)
    .stderr_has("already signed");
    assert_eq!(std::fs::read(env.path("b.tar")).unwrap(), after);

    // Without keys, inspect shows the two signatures as claims.
    let j: serde_json::Value =
        serde_json::from_str(&env.run("unpack", &["inspect", "b.tar", "--json"]).stdout).unwrap();
    assert_eq!(j["signed_by"].as_array().unwrap().len(), 2);
    env.run("unpack", &["inspect", "b.tar"])
        .code(0)
        .stdout_has("(as the signatures say; not verified)");

    // More signers required than trusted keys given: a usage error before reading anything.
    env.run(
        "unpack",
        &["verify", "b.tar", "--packer-key", a_pub, "--require-signers", "2"],
    )
    .code(2)
    .stderr_has("--require-signers 2 needs at least 2 distinct trusted packer keys");
}

#[test]
fn cosign_verifies_first_and_keeps_compression() {
    let env = Env::new();
    let (a_key, a_pub) = env.packer_key("a");
    let (b_key, b_pub) = env.packer_key("b");
    let (a_pub, b_pub) = (a_pub.to_str().unwrap(), b_pub.to_str().unwrap());
    env.pack(Some(&a_key), "z.tar.zst", "zstd", &[RH_4_15_0]).code(0);
    let b = b_key.to_str().unwrap();
    // The first signer's key must check out: B does not co-sign what an unknown key signed.
    env.run("pack", &["cosign", "z.tar.zst", "--sign-key", b, "--packer-key", b_pub])
        .code(1)
        .stderr_has("untrusted-signer");
    // An unsigned bundle has nothing to co-sign.
    env.pack(None, "u.tar.zst", "zstd", &[RH_4_15_0]).code(0);
    env.run("pack", &["cosign", "u.tar.zst", "--sign-key", b, "--allow-unsigned"])
        .code(2)
        .stderr_has("is not signed by a packer");
    // Into another file: the input stays, the output is zstd with the same tar around the new
    // signature.
    env.run(
        "pack",
        &[
            "cosign",
            "z.tar.zst",
            "--sign-key",
            b,
            "--packer-key",
            a_pub,
            "-o",
            "two.tar.zst",
        ],
    )
    .code(0);
    let unzstd = |f: &str| zstd::decode_all(&std::fs::read(env.path(f)).unwrap()[..]).unwrap();
    assert_eq!(
        without_signature(&unzstd("z.tar.zst")),
        without_signature(&unzstd("two.tar.zst"))
    );
    assert!(env.path("two.tar.zst.receipt.json").exists());
    env.run(
        "unpack",
        &[
            "verify",
            "two.tar.zst",
            "--packer-key",
            a_pub,
            "--packer-key",
            b_pub,
            "--require-signers",
            "2",
        ],
    )
    .code(0);
}

#[test]
fn gpg_verifies_both_packer_signatures() {
    let env = Env::new();
    let (a_key, a_pub) = env.packer_key("a");
    let (b_key, b_pub) = env.packer_key("b");
    env.pack(Some(&a_key), "b.tar", "none", &[RH_4_15_0]).code(0);
    env.run(
        "pack",
        &[
            "cosign",
            "b.tar",
            "--sign-key",
            b_key.to_str().unwrap(),
            "--packer-key",
            a_pub.to_str().unwrap(),
        ],
    )
    .code(0);
    let members = tar_members(&std::fs::read(env.path("b.tar")).unwrap());
    std::fs::write(env.path("manifest.json"), &members[0].1).unwrap();
    std::fs::write(env.path("manifest.json.asc"), &members[1].1).unwrap();
    let home = env.path("gnupg");
    std::fs::create_dir(&home).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    for k in [&a_pub, &b_pub] {
        assert!(gpg(&home, &["--import", k.to_str().unwrap()]).status.success());
    }
    let (m, s) = (env.path("manifest.json"), env.path("manifest.json.asc"));
    let o = gpg(&home, &["--verify", s.to_str().unwrap(), m.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "gpg --verify failed: {err}");
    assert_eq!(err.matches("Good signature").count(), 2, "{err}");
}
