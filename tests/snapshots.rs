//! Every user-visible output of both binaries as a snapshot (tests/snapshots/snapshots__*.snap):
//! the exit code, stdout and stderr of a real run, with the command in the snapshot's header.
//! What changes from run to run is filtered (tests/common: `Env::snapshot_settings`): the temp
//! dir, the fixtures' path, elapsed times, today's times, loopback ports, and what each test
//! registers as it makes it (packer fingerprints, signed bundles' sha256 and size, audit
//! hashes). Unsigned bundles are packed from a store copied into the temp dir, so their sha256
//! is the same on every machine and stays in the snapshots.
//!
//! After changing an output: `INSTA_UPDATE=always cargo test --test snapshots`, then read the
//! changed `.snap` files (`git diff tests/snapshots`).

#[macro_use]
mod common;

use common::*;
use sigbundle::bundle::{write_bundle, Compression};
use sigbundle::manifest::Manifest;

/// A release no store holds.
const ABSENT: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// `pack` from the copied Red Hat store, one release at a time, with more arguments.
fn pack(env: &Env, args: &[&str]) -> Run {
    let store = env.redhat_store();
    let mut all = vec!["--store", store.as_str(), "--concurrency", "1"];
    all.extend(args);
    env.run("pack", &all)
}

#[test]
fn pack_key_generate_and_a_signed_pack() {
    let env = Env::for_snapshots();
    let r = env.key_generate("ops");
    assert_run_snapshot!("pack_key_generate", r, env);
    let (r, _) = env.pack_signed("b.tar.zst", "zstd");
    assert_run_snapshot!("pack_signed", r, env);
    let mut args = vec!["--sign-key", "ops.key", "--json", "-o", "j.tar.zst"];
    args.extend(RH_ALL);
    let r = pack(&env, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    env.redact_bundle("j.tar.zst");
    assert_run_snapshot!("pack_signed_json", r, env);
}

#[test]
fn pack_json_and_dry_runs() {
    let env = Env::for_snapshots();
    let mut args = vec!["--no-sign", "--json", "-o", "u.tar.zst"];
    args.extend(RH_ALL);
    assert_run_snapshot!("pack_unsigned_json", pack(&env, &args), env);

    let mut args = vec!["--no-sign", "--dry-run", "-o", "d.tar.zst"];
    args.extend(RH_ALL);
    assert_run_snapshot!("pack_dry_run", pack(&env, &args), env);
    args.push("--json");
    assert_run_snapshot!("pack_dry_run_json", pack(&env, &args), env);

    let args = ["--no-sign", "--dry-run", "-o", "d.tar.zst", RH_4_15_0, ABSENT];
    assert_run_snapshot!("pack_dry_run_missing", pack(&env, &args), env);
    let args = ["--no-sign", "--dry-run", "--json", "-o", "d.tar.zst", RH_4_15_0, ABSENT];
    assert_run_snapshot!("pack_dry_run_missing_json", pack(&env, &args), env);
    assert!(!env.path("d.tar.zst").exists());
}

#[test]
fn pack_refusals_and_warnings() {
    let env = Env::for_snapshots();
    // Usage: neither --sign-key nor --no-sign.
    let r = env.run("pack", &["--store", "redhat", "-o", "b.tar.zst", RH_4_15_0]);
    assert_run_snapshot!("pack_usage_sign_or_no_sign", r, env);

    // A store that fails every request: exit 2, nothing written.
    let server = StoreServer::serve(&fixture("stores/redhat"));
    server
        .faults
        .always_status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    let r = env.run(
        "pack",
        &[
            "--store",
            &server.url,
            "--retries",
            "0",
            "--no-sign",
            "-o",
            "b.tar.zst",
            RH_4_15_0,
        ],
    );
    assert_run_snapshot!("pack_store_failure", r, env);

    // A release without a signature: refused, or packed without it with --allow-missing.
    let r = pack(&env, &["--no-sign", "-o", "m.tar.zst", RH_4_15_0, ABSENT]);
    assert_run_snapshot!("pack_missing", r, env);
    let r = pack(
        &env,
        &["--no-sign", "--allow-missing", "-o", "m.tar.zst", RH_4_15_0, ABSENT],
    );
    assert_run_snapshot!("pack_allow_missing", r, env);

    // A keyring of two armored blocks: the cluster reads only the first.
    let mut two = std::fs::read(fixture("keys/redhat-release-key-2.asc")).unwrap();
    two.extend(std::fs::read(fixture("keys/redhat-beta-key-2.asc")).unwrap());
    std::fs::write(env.path("two-blocks.asc"), two).unwrap();
    let r = pack(
        &env,
        &["--no-sign", "--keyring", "two-blocks.asc", "-o", "k.tar.zst", RH_4_15_0],
    );
    assert_run_snapshot!("pack_keyring_two_blocks", r, env);

    // --strict refuses an MD5 signature the cluster accepts.
    let store = env.store_from_fixture("p30-md5", "cvo-differential/stores/p30-md5");
    let key = fixture("cvo-differential/keys/test.asc");
    let r = env.run(
        "pack",
        &[
            "--store",
            &store,
            "--keyring",
            key.to_str().unwrap(),
            "--strict",
            "--no-sign",
            "-o",
            "s.tar",
            RH_4_15_0,
        ],
    );
    assert_run_snapshot!("pack_strict_refused", r, env);
}

#[test]
fn verify_reports() {
    let env = Env::for_snapshots();
    let (r, public) = env.pack_signed("b.tar.zst", "zstd");
    r.code(0);
    let pk = public.to_str().unwrap();
    let r = env.run("unpack", &["verify", "b.tar.zst", "--packer-key", pk]);
    assert_run_snapshot!("verify_signed", r, env);
    let r = env.run("unpack", &["verify", "b.tar.zst", "--packer-key", pk, "--json"]);
    assert_run_snapshot!("verify_signed_json", r, env);
    env.pack_unsigned("u.tar.zst", "zstd").code(0);
    let r = env.run("unpack", &["verify", "u.tar.zst", "--allow-unsigned"]);
    assert_run_snapshot!("verify_unsigned", r, env);

    // An MD5 signature: verified as the cluster does, refused under --strict.
    let store = env.store_from_fixture("p30-md5", "cvo-differential/stores/p30-md5");
    let key = fixture("cvo-differential/keys/test.asc");
    let key = key.to_str().unwrap();
    let args = [
        "--store",
        &store,
        "--keyring",
        key,
        "--no-sign",
        "-o",
        "md5.tar",
        RH_4_15_0,
    ];
    env.run("pack", &args).code(0);
    let args = ["verify", "md5.tar", "--allow-unsigned", "--keyring", key, "--strict"];
    assert_run_snapshot!("verify_strict_refused", env.run("unpack", &args), env);
}

#[test]
fn verify_refused_names_every_problem() {
    let env = Env::for_snapshots();
    env.pack_unsigned("plain.tar", "none").code(0);
    let mut members = tar_members(&std::fs::read(env.path("plain.tar")).unwrap());
    let manifest = Manifest::parse(&members.remove(0).1).unwrap();
    members[1].1[100] ^= 0x01;
    members.push(("signatures/extra".into(), b"surprise".to_vec()));
    let bytes = write_bundle(Vec::new(), Compression::None, 0, &manifest.to_bytes(), None, &members).unwrap();
    std::fs::write(env.path("x.tar"), bytes).unwrap();
    let r = env.run("unpack", &["verify", "x.tar", "--allow-unsigned"]);
    assert_run_snapshot!("verify_refused", r, env);
    let r = env.run("unpack", &["verify", "x.tar", "--allow-unsigned", "--json"]);
    assert_run_snapshot!("verify_refused_json", r, env);
}

#[test]
fn inspect_with_and_without_keys() {
    let env = Env::for_snapshots();
    let (r, public) = env.pack_signed("b.tar.zst", "zstd");
    r.code(0);
    let pk = public.to_str().unwrap();
    assert_run_snapshot!("inspect", env.run("unpack", &["inspect", "b.tar.zst"]), env);
    let r = env.run("unpack", &["inspect", "b.tar.zst", "--json"]);
    assert_run_snapshot!("inspect_json", r, env);
    let r = env.run("unpack", &["inspect", "b.tar.zst", "--packer-key", pk]);
    assert_run_snapshot!("inspect_with_keys", r, env);
    let r = env.run("unpack", &["inspect", "b.tar.zst", "--packer-key", pk, "--json"]);
    assert_run_snapshot!("inspect_with_keys_json", r, env);
}

#[test]
fn emit_configmaps() {
    let env = Env::for_snapshots();
    let (r, public) = env.pack_signed("b.tar.zst", "zstd");
    r.code(0);
    let pk = public.to_str().unwrap();
    let emit = |extra: &[&str]| {
        let mut args = vec!["emit", "b.tar.zst", "--packer-key", pk];
        args.extend(extra);
        env.run("unpack", &args)
    };
    assert_run_snapshot!("emit_to_dir", emit(&["--to-dir", "cms"]), env);
    assert_run_snapshot!("emit_to_dir_unchanged", emit(&["--to-dir", "cms"]), env);
    assert_run_snapshot!("emit_to_dir_json", emit(&["--to-dir", "cms-json", "--json"]), env);
    let r = emit(&["--to-dir", "yaml", "--format", "yaml"]);
    assert_run_snapshot!("emit_to_dir_yaml", r, env);
    assert_eq!(env.ls("yaml").len(), 3);

    // A different file where a ConfigMap goes: refused before anything is written.
    std::fs::create_dir(env.path("taken")).unwrap();
    std::fs::write(env.path("taken/signature-sha256-195de2a5ef3af108.json"), "hand-made").unwrap();
    assert_run_snapshot!("emit_conflict", emit(&["--to-dir", "taken"]), env);
    assert_eq!(env.ls("taken").len(), 1);

    assert_run_snapshot!("emit_usage_no_target", emit(&[]), env);
}

#[test]
fn emit_for_fleets() {
    let env = Env::for_snapshots();
    env.pack_unsigned("u.tar.zst", "zstd").code(0);
    let emit = |extra: &[&str]| {
        let mut args = vec!["emit", "u.tar.zst", "--allow-unsigned"];
        args.extend(extra);
        env.run("unpack", &args)
    };
    let r = emit(&["--to-dir", "k", "--format", "kustomize"]);
    assert_run_snapshot!("emit_kustomize", r, env);
    let r = emit(&[
        "--to-dir",
        "acm",
        "--format",
        "acm-policy",
        "--placement-label",
        "env=prod",
    ]);
    assert_run_snapshot!("emit_acm_policy", r, env);
    let r = emit(&["--to-dir", "cr", "--format", "oc-mirror"]);
    assert_run_snapshot!("emit_oc_mirror", r, env);
    let r = emit(&["--to-dir", "cr", "--format", "oc-mirror", "--json"]);
    assert_run_snapshot!("emit_oc_mirror_json", r, env);
    let r = emit(&["--to-dir", "cr", "--format", "acm-policy"]);
    assert_run_snapshot!("emit_mixed_formats", r, env);
    assert_eq!(env.ls("cr").len(), 2);
}

#[test]
fn emit_store_dir_and_one_signature() {
    let env = Env::for_snapshots();
    env.pack_unsigned("u.tar.zst", "zstd").code(0);
    let emit = |extra: &[&str]| {
        let mut args = vec!["emit", "u.tar.zst", "--allow-unsigned"];
        args.extend(extra);
        env.run("unpack", &args)
    };
    let url = "https://sigs.internal/ocp";
    let r = emit(&["--store-dir", "sigs", "--store-url", url]);
    assert_run_snapshot!("emit_store_dir", r, env);
    let r = emit(&["--store-dir", "sigs-json", "--store-url", url, "--json"]);
    assert_run_snapshot!("emit_store_dir_json", r, env);

    let args = ["emit", "u.tar.zst", "--allow-unsigned", "--signature", RH_4_15_46];
    let r = env.run_to_file("unpack", &args, "sig.bin");
    assert_run_snapshot!("emit_signature_to_file", r, env);
    assert_eq!(std::fs::read(env.path("sig.bin")).unwrap(), rh_signature(RH_4_15_46));
}

#[test]
fn apply_to_the_loopback_cluster() {
    let env = Env::for_snapshots();
    let api = env.cluster();
    env.pack_unsigned("u.tar.zst", "zstd").code(0);
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "u.tar.zst", "--allow-unsigned", "--kubeconfig", "kubeconfig"];
        args.extend(extra);
        env.run("unpack", &args)
    };
    assert_run_snapshot!("apply_dry_run", apply(&["--dry-run"]), env);
    assert_run_snapshot!("apply_dry_run_client", apply(&["--dry-run=client"]), env);
    assert_run_snapshot!("apply_dry_run_client_json", apply(&["--dry-run=client", "--json"]), env);
    assert!(api.state.objects.lock().unwrap().is_empty());
    assert_run_snapshot!("apply", apply(&[]), env);
    assert_run_snapshot!("apply_json", apply(&["--json"]), env);
    // Someone else's bytes under one of the keys: a conflict, left as it is (exit 1).
    let name = format!("sha256-{}", &RH_4_15_0[7..]);
    let key = format!("{name}-1");
    api.seed(&name, &[(&key, b"someone else's bytes")], "kubectl-client-side-apply");
    assert_run_snapshot!("apply_conflict", apply(&[]), env);
    assert_run_snapshot!("apply_conflict_json", apply(&["--json"]), env);
    // As another user, with a token from the command line.
    api.state.grant("importer", &["get", "list", "patch", "create"]);
    let token = common::kubeapi::TOKEN;
    let r = apply(&[
        "--token",
        token,
        "--as",
        "importer",
        "--as-group",
        "ops",
        "--force-conflicts",
    ]);
    assert_run_snapshot!("apply_as_forced", r, env);
    // RBAC's refusal, as the real server words it, and the hint.
    assert_run_snapshot!("apply_forbidden", apply(&["--context", "nobody"]), env);
}

#[test]
fn audit_listings_checks_and_receipts() {
    let env = Env::for_snapshots();
    let api = env.cluster();
    let (r, public) = env.pack_signed("b.tar.zst", "zstd");
    r.code(0);
    let pk = public.to_str().unwrap();
    env.pack_unsigned("u.tar.zst", "zstd").code(0);
    env.pack(None, "other.tar.zst", "zstd", &[RH_4_15_0]).code(0);
    env.pack(None, "checked.tar.zst", "zstd", &[RH_4_10_18]).code(0);
    env.run("unpack", &["verify", "b.tar.zst", "--packer-key", pk]).code(0);
    env.run("unpack", &["emit", "b.tar.zst", "--packer-key", pk, "--to-dir", "cms"])
        .code(0);
    env.run(
        "unpack",
        &["emit", "u.tar.zst", "--allow-unsigned", "--store-dir", "sigs"],
    )
    .code(0);
    env.run(
        "unpack",
        &["apply", "u.tar.zst", "--allow-unsigned", "--kubeconfig", "kubeconfig"],
    )
    .code(0);
    env.run(
        "unpack",
        &["apply", "u.tar.zst", "--allow-unsigned", "--dry-run=client"],
    )
    .code(0);
    env.run("unpack", &["verify", "checked.tar.zst", "--allow-unsigned"])
        .code(0);
    env.run("unpack", &["verify", "u.tar.zst", "--packer-key", pk]).code(1);
    assert_eq!(api.state.objects.lock().unwrap().len(), 3);
    env.redact_audit_hashes();

    assert_run_snapshot!("audit", env.run("unpack", &["audit"]), env);
    let r = env.run("unpack", &["audit", "--by-release"]);
    assert_run_snapshot!("audit_by_release", r, env);
    assert_run_snapshot!("audit_json", env.run("unpack", &["audit", "--json"]), env);
    let r = env.run("unpack", &["audit", "--by-release", "--json"]);
    assert_run_snapshot!("audit_by_release_json", r, env);
    assert_run_snapshot!("audit_check", env.run("unpack", &["audit", "--check"]), env);
    let r = env.run("unpack", &["audit", "--check", "--json"]);
    assert_run_snapshot!("audit_check_json", r, env);
    assert_run_snapshot!("audit_head", env.run("unpack", &["audit", "--head"]), env);

    let receipt = |file: &str, json: bool| {
        let mut args = vec!["audit", "--receipt", file];
        if json {
            args.push("--json");
        }
        env.run("unpack", &args)
    };
    let r = receipt("b.tar.zst.receipt.json", false);
    assert_run_snapshot!("audit_receipt_imported", r, env);
    let r = receipt("b.tar.zst.receipt.json", true);
    assert_run_snapshot!("audit_receipt_imported_json", r, env);
    let r = receipt("other.tar.zst.receipt.json", false);
    assert_run_snapshot!("audit_receipt_not_imported", r, env);
    let r = receipt("checked.tar.zst.receipt.json", false);
    assert_run_snapshot!("audit_receipt_only_verified", r, env);
    let r = receipt("checked.tar.zst.receipt.json", true);
    assert_run_snapshot!("audit_receipt_only_verified_json", r, env);

    // Edit a record: the chain breaks there (exit 1).
    let log = env.path("state/sigbundle/audit.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let edited = text.replacen("\"action\":\"apply\"", "\"action\":\"verify\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&log, edited).unwrap();
    let r = env.run("unpack", &["audit", "--check"]);
    assert_run_snapshot!("audit_check_broken", r, env);
    let r = env.run("unpack", &["audit", "--check", "--json"]);
    assert_run_snapshot!("audit_check_broken_json", r, env);
}

/// The stderr of each class of refusal that the command tests above do not already show:
/// a bundle refused (exit 1), a usage error (exit 2), an I/O error (exit 2). (A verification
/// failure said by a typed outcome, exit 1: `apply_conflict`, `audit_check_broken`,
/// `audit_receipt_only_verified`.)
#[test]
fn refusal_classes() {
    let env = Env::for_snapshots();
    let (_, public) = env.packer_key("ops");
    env.pack_unsigned("u.tar.zst", "zstd").code(0);
    let pk = public.to_str().unwrap();
    let r = env.run("unpack", &["verify", "u.tar.zst", "--packer-key", pk]);
    assert_run_snapshot!("refused_bundle_unsigned", r, env);
    let r = env.run("unpack", &["verify", "u.tar.zst"]);
    assert_run_snapshot!("refused_usage_no_packer_key", r, env);
    let r = env.run("unpack", &["verify", "absent.tar.zst", "--allow-unsigned"]);
    assert_run_snapshot!("refused_io_missing_bundle", r, env);
    let r = env.run("unpack", &["verify", "absent.tar.zst", "--allow-unsigned", "--json"]);
    assert_run_snapshot!("refused_io_missing_bundle_json", r, env);
    let r = env.run("unpack", &["verify", "u.tar.zst", "--packer-key", "absent.pub.asc"]);
    assert_run_snapshot!("refused_io_missing_key", r, env);
}

/// The sigstore outputs: `pack --sigstore` (carried, missing, refused, dry run), `unpack
/// verify`/`inspect` of a v2 bundle, `unpack push` (plan, push, again, conflict, JSON),
/// `unpack emit --oci-dir` and the audit listing; against real registries, with a fixed
/// sigstore key so the artifacts are the same on every run.
#[test]
fn sigstore_carry_outputs() {
    use common::cosign::{CosignKey, RH_RELEASE};
    let env = Env::for_snapshots();
    let src = RegistryProcess::start(None);
    let mirror = RegistryProcess::start(None);
    let gpg = GpgSigner::new(&env);
    {
        let home = tempfile::tempdir().unwrap();
        let out = gpg_cmd_fprs(home.path(), &gpg.public);
        for f in out {
            env.redact(&f, "[GPG FPR]");
            env.redact(&f[24..], "[GPG KEYID]");
        }
    }
    let key = CosignKey::from_pem_file(&fixture("sigstore/test-keys/rsa4096-test.key"));
    std::fs::copy(fixture("sigstore/test-keys/rsa4096-test.pub"), env.path("sig.pub")).unwrap();
    let mut digests = Vec::new();
    for (tag, signed) in [("4.99.1-x86_64", true), ("4.99.3-x86_64", false)] {
        let (_, d) = src.push_image("src/release", tag, &format!("amd64-{tag}"), None);
        gpg.sign_into(&env.path("store"), &d, 1, &format!("{RH_RELEASE}:{tag}"));
        if signed {
            src.push_sig("src/release", &d, &key.artifact(&format!("{RH_RELEASE}:{tag}"), &d));
        }
        digests.push(format!("{}/src/release@{d}", src.host));
    }
    let keyring = gpg.public.to_str().unwrap();
    let pack = |extra: &[&str]| {
        let mut args = vec![
            "--insecure-registry",
            src.host.as_str(),
            "--store",
            "store",
            "--keyring",
            keyring,
            "--no-sign",
            "--concurrency",
            "1",
            "--sigstore",
            "--sigstore-key",
            "sig.pub",
        ];
        args.extend(extra);
        args.extend(digests.iter().map(String::as_str));
        env.run("pack", &args)
    };
    assert_run_snapshot!("pack_sigstore_missing", pack(&["-o", "b.tar.zst"]), env);
    // The GPG signatures are made afresh for each run: their sizes in the plan vary.
    let mut r = pack(&["--dry-run"]);
    let sized: Vec<String> = r
        .stdout
        .lines()
        .map(|l| match l.find("  valid  ") {
            Some(i) if l.starts_with("sha256:") && !l.contains("image ") => {
                let rest = l[i + 9..].trim_start();
                let after = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                format!("{}  valid  [SIZE]{after}", &l[..i])
            }
            _ => l.to_string(),
        })
        .collect();
    r.stdout = sized.join("\n") + "\n";
    r.raw_stdout = r.stdout.clone().into_bytes();
    assert_run_snapshot!("pack_sigstore_dry_run", r, env);
    let r = pack(&["--allow-missing", "-o", "b.tar.zst"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    env.redact_bundle("b.tar.zst");
    assert_run_snapshot!("pack_sigstore", r, env);

    let unpack = |cmd: &str, extra: &[&str]| {
        let mut args = vec![
            cmd,
            "b.tar.zst",
            "--allow-unsigned",
            "--keyring",
            keyring,
            "--sigstore-key",
            "sig.pub",
        ];
        args.extend(extra);
        env.run("unpack", &args)
    };
    assert_run_snapshot!("unpack_verify_sigstore", unpack("verify", &[]), env);
    assert_run_snapshot!(
        "unpack_verify_sigstore_refused",
        env.run(
            "unpack",
            &["verify", "b.tar.zst", "--allow-unsigned", "--keyring", keyring]
        ),
        env
    );
    assert_run_snapshot!(
        "unpack_inspect_sigstore",
        env.run("unpack", &["inspect", "b.tar.zst"]),
        env
    );

    let to = format!("{}/ocp/release", mirror.host);
    let push = |extra: &[&str]| {
        let mut args = vec!["--to", to.as_str(), "--insecure-registry", mirror.host.as_str()];
        args.extend(extra);
        unpack("push", &args)
    };
    assert_run_snapshot!("unpack_push_dry_run", push(&["--dry-run"]), env);
    assert_run_snapshot!("unpack_push", push(&[]), env);
    assert_run_snapshot!("unpack_push_again_json", push(&["--json"]), env);
    let d = digests[0].split('@').nth(1).unwrap();
    mirror.push_sig("ocp/release", d, &key.artifact(&format!("{RH_RELEASE}:other"), d));
    assert_run_snapshot!("unpack_push_conflict", push(&[]), env);
    assert_run_snapshot!("unpack_emit_oci_dir", unpack("emit", &["--oci-dir", "layout"]), env);
    env.redact_audit_hashes();
    assert_run_snapshot!("unpack_audit_sigstore", env.run("unpack", &["audit"]), env);
    assert_run_snapshot!(
        "unpack_audit_sigstore_by_release",
        env.run("unpack", &["audit", "--by-release"]),
        env
    );
}

/// Every fingerprint of the keys in an armored public key file.
fn gpg_cmd_fprs(home: &std::path::Path, public: &std::path::Path) -> Vec<String> {
    let out = gpg(
        home,
        &[
            "--show-keys",
            "--with-colons",
            "--with-subkey-fingerprints",
            public.to_str().unwrap(),
        ],
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("fpr:"))
        .map(|l| l.split(':').nth(9).unwrap().to_string())
        .collect()
}

#[test]
fn cosign_and_require_signers() {
    let env = Env::for_snapshots();
    let (_, _) = env.pack_signed("b.tar.zst", "zstd");
    env.packer_key("second");
    let keys = ["--packer-key", "ops.pub.asc", "--packer-key", "second.pub.asc"];
    let verify = |env: &Env| {
        let mut args = vec!["verify", "b.tar.zst", "--require-signers", "2"];
        args.extend(keys);
        env.run("unpack", &args)
    };
    assert_run_snapshot!("verify_too_few_signers", verify(&env), env);
    let r = env.run(
        "pack",
        &[
            "cosign",
            "b.tar.zst",
            "--sign-key",
            "second.key",
            "--packer-key",
            "ops.pub.asc",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    env.redact_bundle("b.tar.zst");
    assert_run_snapshot!("pack_cosign", r, env);
    assert_run_snapshot!("verify_two_signers", verify(&env), env);
    let r = env.run(
        "pack",
        &[
            "cosign",
            "b.tar.zst",
            "--sign-key",
            "second.key",
            "--packer-key",
            "ops.pub.asc",
        ],
    );
    assert_run_snapshot!("pack_cosign_same_key", r, env);
}

/// `pack --from-isc`: the one note on what an ImageSetConfiguration holds besides releases, a
/// plan from one (a saved graph answer, so no port), and its refusals (exit 2, one line each).
#[test]
fn pack_from_isc() {
    let env = Env::for_snapshots();
    let isc = |name: &str| fixture(&format!("isc/{name}")).display().to_string();
    let graph = fixture("graph/amd64-stable-4.13.json").display().to_string();
    let from_graph = ["--graph-file", graph.as_str(), "--graph-file-arch", "amd64"];
    let file = isc("channel-range.yaml");
    let mut args = vec!["--no-sign", "--dry-run", "--from-isc", file.as_str()];
    args.extend(from_graph);
    assert_run_snapshot!("pack_isc_note_and_plan", pack(&env, &args), env);

    std::fs::write(
        env.path("release-and-channels.yaml"),
        format!("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    release: quay.io/openshift-release-dev/ocp-release@{RH_4_15_0}\n    channels:\n    - name: stable-4.13\n"),
    )
    .unwrap();
    let args = ["--no-sign", "--dry-run", "--from-isc", "release-and-channels.yaml"];
    assert_run_snapshot!("pack_isc_release_note", pack(&env, &args), env);

    std::fs::write(
        env.path("okd.yaml"),
        "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  platform:\n    graph: false\n    channels:\n      - name: 4-stable\n        minVersion: 4.18.0-okd-scos.8\n        maxVersion: 4.18.0-okd-scos.8\n        type: okd\n",
    )
    .unwrap();
    std::fs::write(
        env.path("api.yaml"),
        "apiVersion: mirror.openshift.io/v3\nkind: ImageSetConfiguration\nmirror: {}\n",
    )
    .unwrap();
    for (name, file) in [
        ("pack_isc_wrong_kind", isc("wrong-kind.yaml")),
        ("pack_isc_bad_yaml", isc("bad-yaml.yaml")),
        ("pack_isc_okd", "okd.yaml".to_string()),
        ("pack_isc_api_version", "api.yaml".to_string()),
    ] {
        let r = env.run("pack", &["--no-sign", "--dry-run", "--from-isc", &file]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert_run_snapshot!(name, r, env);
    }
}

/// `unpack check-path`: every hop carried, and the first one the cluster would refuse.
#[test]
fn check_path_hops() {
    let env = Env::for_snapshots();
    let g: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("graph/amd64-stable-4.13.json")).unwrap()).unwrap();
    let digest = |v: &str| {
        let n = g["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["version"] == v)
            .unwrap();
        n["payload"].as_str().unwrap().split('@').nth(1).unwrap().to_string()
    };
    let signer = GpgSigner::new(&env);
    for v in ["4.13.33", "4.13.41"] {
        let identity = format!("quay.io/openshift-release-dev/ocp-release:{v}-x86_64");
        signer.sign_into(&env.path("store"), &digest(v), 1, &identity);
    }
    let keyring = signer.public.to_str().unwrap().to_string();
    let args = [
        "--store",
        "store",
        "--keyring",
        &keyring,
        "--no-sign",
        "-o",
        "b.tar.zst",
    ];
    let mut pack = args.to_vec();
    let (d33, d41) = (digest("4.13.33"), digest("4.13.41"));
    pack.extend([d33.as_str(), d41.as_str()]);
    assert_eq!(env.run("pack", &pack).code, 0);
    let graph = fixture("graph/amd64-stable-4.13.json");
    let check = |extra: &[&str]| {
        let mut a = vec!["check-path", "b.tar.zst", "--allow-unsigned", "--keyring", &keyring];
        a.extend([
            "--from",
            "4.13.32",
            "--to",
            "4.13.41",
            "--graph-file",
            graph.to_str().unwrap(),
        ]);
        a.extend(extra);
        env.run("unpack", &a)
    };
    assert_run_snapshot!("check_path_missing_hop", check(&[]), env);
    assert_run_snapshot!(
        "check_path_risk_accepted",
        check(&["--accept-risks", "CephCapDropPanic"]),
        env
    );
}

/// `pack --exclude-carried` (a receipt; everything carried) and `unpack audit --inventory`.
#[test]
fn incremental_export() {
    let env = Env::for_snapshots();
    assert_eq!(
        pack(&env, &["--no-sign", "-o", "m1.tar.zst", RH_4_15_0, RH_4_10_18]).code,
        0
    );
    let mut args = vec![
        "--no-sign",
        "-o",
        "m2.tar.zst",
        "--exclude-carried",
        "m1.tar.zst.receipt.json",
    ];
    args.extend(RH_ALL);
    let r = pack(&env, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    env.redact_bundle("m2.tar.zst");
    assert_run_snapshot!("pack_exclude_carried", r, env);
    let args = [
        "--no-sign",
        "-o",
        "m3.tar.zst",
        "--exclude-carried",
        "m1.tar.zst",
        RH_4_15_0,
    ];
    assert_run_snapshot!("pack_nothing_new", pack(&env, &args), env);
    env.run("unpack", &["emit", "m1.tar.zst", "--allow-unsigned", "--to-dir", "cms"])
        .code(0);
    env.redact_audit_hashes();
    let r = env.run("unpack", &["audit", "--inventory", "-o", "held.json"]);
    assert_run_snapshot!("audit_inventory", r, env);
}
