//! Incremental export: `pack --exclude-carried RECEIPT|BUNDLE` leaves out what an earlier
//! bundle carried (whole releases, or single signatures when a release has new ones), records
//! what it was reduced against, and the small bundle verifies on its own.

mod common;

use common::*;

fn manifest_of(env: &Env, bundle: &str) -> serde_json::Value {
    let r = env.run("unpack", &["inspect", bundle, "--json"]);
    r.code(0);
    serde_json::from_str(&r.stdout).unwrap()
}

fn digests(env: &Env, bundle: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["verify", bundle, "--allow-unsigned", "--json"];
    args.extend(extra);
    let r = env.run("unpack", &args);
    r.code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["digest"].as_str().unwrap().to_string())
        .collect()
}

fn sha256_of(env: &Env, file: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(env.path(file)).unwrap()))
}

#[test]
fn month_two_holds_only_what_month_one_did_not_carry() {
    let env = Env::new();
    env.pack(None, "m1.tar.zst", "zstd", &[RH_4_15_0, RH_4_10_18]).code(0);
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("m1.tar.zst.receipt.json")).unwrap()).unwrap();
    assert_eq!(receipt["signatures"][RH_4_15_0].as_array().unwrap().len(), 1);
    let store = env.redhat_store();
    let month2 = |out: &str, exclude: &str| {
        let mut args = vec![
            "--store",
            store.as_str(),
            "--no-sign",
            "-o",
            out,
            "--exclude-carried",
            exclude,
        ];
        args.extend(RH_ALL);
        env.run("pack", &args)
    };
    // By the receipt, and by the bundle itself: the same small bundle.
    for (out, exclude) in [("m2.tar.zst", "m1.tar.zst.receipt.json"), ("m2b.tar.zst", "m1.tar.zst")] {
        month2(out, exclude)
            .code(0)
            .stderr_has("2 release(s) left out as already carried (--exclude-carried: 1 earlier bundle(s)")
            .stderr_has("packed 1 release(s), 1 signature(s)");
        assert_eq!(digests(&env, out, &[]), [RH_4_15_46], "{out} stands alone");
        assert_eq!(
            manifest_of(&env, out)["reduced_against"],
            serde_json::json!([sha256_of(&env, "m1.tar.zst")])
        );
    }
    env.run("unpack", &["verify", "m2.tar.zst", "--allow-unsigned"])
        .code(0)
        .stdout_has(&format!(
            "reduced    holds only what bundle(s) {} did not carry",
            sha256_of(&env, "m1.tar.zst")
        ));
    // A bundle packed whole records nothing of the kind.
    assert!(manifest_of(&env, "m1.tar.zst").get("reduced_against").is_none());
    // A receipt written before receipts listed signatures: its releases are left out whole.
    let mut old = receipt.clone();
    old.as_object_mut().unwrap().remove("signatures");
    std::fs::write(env.path("old.receipt.json"), old.to_string()).unwrap();
    month2("m3.tar.zst", "old.receipt.json").code(0);
    assert_eq!(digests(&env, "m3.tar.zst", &[]), [RH_4_15_46]);
    // Everything carried already: nothing new, no bundle, exit 0.
    let mut args = vec!["--store", store.as_str(), "--no-sign", "-o", "m4.tar.zst"];
    args.extend([
        "--exclude-carried",
        "m1.tar.zst.receipt.json",
        "--exclude-carried",
        "m2.tar.zst",
    ]);
    args.extend(RH_ALL);
    env.run("pack", &args)
        .code(0)
        .stderr_has("3 release(s) left out as already carried")
        .stderr_has("nothing new to carry");
    assert!(!env.path("m4.tar.zst").exists());
    // Not a receipt, not a bundle: named, exit 2.
    std::fs::write(env.path("junk"), "hello").unwrap();
    month2("x.tar.zst", "junk")
        .code(2)
        .stderr_has("--exclude-carried junk: not a bundle");
    std::fs::write(env.path("bad.json"), "{\"bundle\": 1}").unwrap();
    month2("x.tar.zst", "bad.json")
        .code(2)
        .stderr_has("--exclude-carried bad.json: not a pack receipt");
}

#[test]
fn a_new_signature_of_a_carried_release_crosses_alone() {
    let env = Env::new();
    let signer = GpgSigner::new(&env);
    let d = format!("sha256:{}", "5e".repeat(32));
    let identity = "quay.io/openshift-release-dev/ocp-release:4.16.1-x86_64";
    signer.sign_into(&env.path("store"), &d, 1, identity);
    let keyring = signer.public.to_str().unwrap();
    let pack = |out: &str, extra: &[&str]| {
        let mut args = vec!["--store", "store", "--keyring", keyring, "--no-sign", "-o", out, &d];
        args.extend(extra);
        env.run("pack", &args)
    };
    pack("m1.tar.zst", &[]).code(0);
    // A second signature of the same release appears in the store.
    signer.sign_into(&env.path("store"), &d, 2, identity);
    pack("m2.tar.zst", &["--exclude-carried", "m1.tar.zst.receipt.json"])
        .code(0)
        .stderr_has("packed 1 release(s), 1 signature(s)");
    let members = tar_members(&zstd::decode_all(&std::fs::read(env.path("m2.tar.zst")).unwrap()[..]).unwrap());
    let second = std::fs::read(env.path(&format!("store/sha256={}/signature-2", &d[7..]))).unwrap();
    let sigs: Vec<&Vec<u8>> = members
        .iter()
        .filter(|(p, _)| p.starts_with("signatures/"))
        .map(|(_, b)| b)
        .collect();
    assert_eq!(sigs, [&second], "only the new signature crosses");
    assert_eq!(digests(&env, "m2.tar.zst", &["--keyring", keyring]), [d]);
}

#[test]
fn the_air_gapped_sides_inventory_reduces_the_next_pack() {
    let env = Env::new();
    env.pack(None, "m1.tar.zst", "zstd", &[RH_4_15_0, RH_4_10_18]).code(0);
    env.pack(None, "only-verified.tar.zst", "zstd", &[RH_4_15_46]).code(0);
    // No log yet: an inventory would claim "nothing", which is not known.
    env.run("unpack", &["audit", "--inventory", "-o", "inv.json"])
        .code(2)
        .stderr_has("audit log");
    env.run("unpack", &["emit", "m1.tar.zst", "--allow-unsigned", "--to-dir", "cms"])
        .code(0);
    // Verified but never emitted or applied: not in place, so not in the inventory.
    env.run("unpack", &["verify", "only-verified.tar.zst", "--allow-unsigned"])
        .code(0);
    let (key, public) = env.packer_key("airgap");
    let r = env.run(
        "unpack",
        &[
            "audit",
            "--inventory",
            "-o",
            "inv.json",
            "--sign-key",
            key.to_str().unwrap(),
        ],
    );
    r.code(0)
        .stderr_has("wrote inv.json: 2 release(s), 2 signature(s) in place");
    let inv: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(env.path("inv.json")).unwrap()).unwrap();
    assert_eq!(inv["kind"], "sigbundle-inventory");
    let recs = env.audit_records();
    assert_eq!(inv["audit_head"], recs.last().unwrap()["hash"]);
    assert!(inv["releases"].get(RH_4_15_46).is_none());
    // Its signature verifies with GnuPG.
    let home = env.path("gnupg");
    std::fs::create_dir(&home).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(gpg(&home, &["--import", public.to_str().unwrap()]).status.success());
    let o = gpg(
        &home,
        &[
            "--verify",
            env.path("inv.json.asc").to_str().unwrap(),
            env.path("inv.json").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Carried back: the next pack leaves out what is in place.
    let store = env.redhat_store();
    let mut args = vec![
        "--store",
        store.as_str(),
        "--no-sign",
        "-o",
        "m2.tar.zst",
        "--exclude-carried",
        "inv.json",
    ];
    args.extend(RH_ALL);
    env.run("pack", &args)
        .code(0)
        .stderr_has("2 release(s) left out as already carried");
    assert_eq!(digests(&env, "m2.tar.zst", &[]), [RH_4_15_46]);
    assert_eq!(
        manifest_of(&env, "m2.tar.zst")["reduced_against"],
        serde_json::json!([sha256_of(&env, "inv.json")])
    );
}
