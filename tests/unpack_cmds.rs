//! `unpack inspect`, `emit --store-dir`, `emit --signature`, and the audit trail (records,
//! hash chain, receipts, refusals), through the real binaries.

mod common;

use std::process::{Command, Stdio};

use common::*;

#[test]
fn inspect_shows_the_manifest_unverified_unless_keys_are_given() {
    let env = Env::new();
    let (key, public) = env.packer_key("ops");
    env.pack(Some(&key), "b.tar.zst", "zstd", &[RH_4_15_0, RH_4_10_18])
        .code(0);
    let r = env.run("unpack", &["inspect", "b.tar.zst"]);
    r.code(0)
        .stdout_has("NOT VERIFIED")
        .stdout_has(RH_4_10_18)
        .stdout_has("quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64")
        .stdout_has("asked as: ");
    let r = env.run("unpack", &["inspect", "b.tar.zst", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["releases"].as_array().unwrap().len(), 2);
    env.run(
        "unpack",
        &["inspect", "b.tar.zst", "--packer-key", public.to_str().unwrap()],
    )
    .code(0)
    .stdout_has("signature verified");
    // Inspect without keys does not vouch for anything, so it leaves no audit record.
    let actions: Vec<String> = env
        .audit_records()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["verify"]);
}

/// The keys of every object in a JSON document, by path (array items under `[]`), so two
/// documents' shapes can be compared whatever their values.
fn shape(v: &serde_json::Value, at: &str, out: &mut std::collections::BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                out.insert(format!("{at}.{k}"));
                shape(v, &format!("{at}.{k}"), out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| shape(v, &format!("{at}[]"), out)),
        _ => {}
    }
}

#[test]
fn json_documents_show_a_release_in_one_shape_with_rfc3339_times() {
    let env = Env::new();
    let (key, public) = env.packer_key("ops");
    let pk = public.to_str().unwrap();
    env.pack(Some(&key), "b.tar.zst", "zstd", &[RH_4_15_0]).code(0);
    let doc = |bin: &str, args: &[&str]| -> serde_json::Value {
        let r = env.run(bin, args);
        r.code(0);
        serde_json::from_str(&r.stdout).unwrap()
    };
    let verify = doc("unpack", &["verify", "b.tar.zst", "--packer-key", pk, "--json"]);
    let inspect = doc("unpack", &["inspect", "b.tar.zst", "--json"]);
    let inspect_keys = doc("unpack", &["inspect", "b.tar.zst", "--packer-key", pk, "--json"]);
    let store = format!("--store={}", REDHAT_STORE);
    let plan = doc("pack", &[&store, "--no-sign", "--dry-run", "--json", RH_4_15_0]);
    let releases = |v: &serde_json::Value| {
        let mut s = std::collections::BTreeSet::new();
        shape(v, "", &mut s);
        s
    };
    let (v, i) = (releases(&verify["releases"]), releases(&inspect["releases"]));
    assert_eq!(v, i, "verify and inspect list releases alike");
    assert_eq!(verify, inspect_keys, "inspect with keys is verify's document");
    assert!(v.contains("[].signatures[].verdict") && v.contains("[].signatures[].reason"));
    // The plan has what the bundle has, except the member path (nothing is written yet), and
    // says where each signature was fetched.
    let mut p = releases(&plan["plan"]);
    assert!(p.remove("[].signatures[].fetched"));
    p.retain(|k| !k.starts_with("[].signatures[].fetched."));
    let mut without_path = v.clone();
    without_path.remove("[].signatures[].path");
    assert_eq!(p, without_path);
    // Times are RFC 3339 wherever they appear.
    for t in [
        &verify["created"],
        &verify["packer"]["signed_at"],
        &verify["releases"][0]["signatures"][0]["created"],
        &inspect["releases"][0]["signatures"][0]["created"],
        &plan["plan"][0]["signatures"][0]["created"],
    ] {
        let t = t.as_str().unwrap_or_else(|| panic!("{t} is not a time string"));
        let b = t.as_bytes();
        let rfc3339 = b.len() == 20
            && [4, 7].iter().all(|&i| b[i] == b'-')
            && b[10] == b'T'
            && [13, 16].iter().all(|&i| b[i] == b':')
            && b[19] == b'Z';
        assert!(rfc3339, "{t} is not RFC 3339 UTC");
    }
    assert_eq!(
        verify["releases"][0]["signatures"][0]["created"],
        "2024-02-26T16:00:12Z"
    );
    assert_eq!(plan["ok"], true);
}

#[test]
fn emit_store_dir_is_a_signature_store_and_prints_the_patch() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let r = env.run(
        "unpack",
        &[
            "emit",
            "b.tar.zst",
            "--allow-unsigned",
            "--store-dir",
            "sigs",
            "--store-url",
            "https://sigs.internal/ocp",
        ],
    );
    r.code(0).stdout_has(r#"oc patch clusterversion version --type merge -p '{"spec":{"signatureStores":[{"url":"https://sigs.internal/ocp"}]}}'"#);
    for d in RH_ALL {
        let hex = &d[7..];
        let got = std::fs::read(env.path(&format!("sigs/sha256={hex}/signature-1"))).unwrap();
        assert_eq!(got, rh_signature(d));
    }
    // The folder is a store: pack reads it back to the same bundle.
    let mut args = vec!["--store", "sigs", "--no-sign", "-o", "again.tar.zst", "-q"];
    args.extend(RH_ALL);
    env.run("pack", &args).code(0);
    let m1 = env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned", "--json"]);
    let m2 = env.run("unpack", &["verify", "again.tar.zst", "--allow-unsigned", "--json"]);
    // The same releases and signatures; only the store they were packed from differs.
    let rel = |s: &str| {
        let mut v = serde_json::from_str::<serde_json::Value>(s).unwrap()["releases"].clone();
        for r in v.as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("store");
        }
        v
    };
    assert_eq!(rel(&m1.stdout), rel(&m2.stdout));
    assert!(m2.stdout.contains(r#""store": "sigs""#), "{}", m2.stdout);
}

#[test]
fn emit_signature_writes_bare_bytes_to_a_pipe() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let r = env.run(
        "unpack",
        &["emit", "b.tar.zst", "--allow-unsigned", "--signature", RH_4_15_46],
    );
    r.code(0);
    assert_eq!(r.raw_stdout, rh_signature(RH_4_15_46));
    env.run(
        "unpack",
        &[
            "emit",
            "b.tar.zst",
            "--allow-unsigned",
            "--signature",
            RH_4_15_46,
            "--index",
            "2",
        ],
    )
    .code(2)
    .stderr_has("no signature 2");
    env.run(
        "unpack",
        &["emit", "b.tar.zst", "--allow-unsigned", "--signature", "sha256:nothex"],
    )
    .code(2)
    .stderr_has("invalid digest");
}

#[test]
fn emit_signature_refuses_a_terminal() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let text = in_terminal(
        &env,
        "unpack",
        &format!("emit b.tar.zst --allow-unsigned --signature {RH_4_15_0}"),
    );
    assert!(text.contains("redirect stdout"), "{text}");
    assert!(text.contains("EXIT=2"), "{text}");
}

#[test]
fn every_verify_and_emit_is_recorded_and_the_chain_checks() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned"]).code(0);
    env.run("unpack", &["emit", "b.tar.zst", "--allow-unsigned", "--to-dir", "cms"])
        .code(0);
    env.run(
        "unpack",
        &["emit", "b.tar.zst", "--allow-unsigned", "--store-dir", "sigs"],
    )
    .code(0);
    let recs = env.audit_records();
    assert_eq!(recs.len(), 3);
    let bundle_sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(env.path("b.tar.zst")).unwrap()))
    };
    for (r, (action, kind)) in recs.iter().zip([
        ("verify", None),
        ("emit", Some("configmap-dir")),
        ("emit", Some("store-dir")),
    ]) {
        assert_eq!(r["action"], action);
        assert_eq!(r["outcome"], "ok");
        assert_eq!(r["bundle_sha256"], bundle_sha.as_str());
        assert_eq!(r["packer"], "unsigned");
        assert_eq!(r["releases"].as_array().unwrap().len(), 3);
        assert_eq!(r["releases"][0]["signatures"].as_array().unwrap().len(), 1);
        assert_eq!(r["destination"]["kind"].as_str(), kind);
        assert_eq!(r["tool"], "sigbundle 0.1.0");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(env.path("state/sigbundle/audit.log"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let head = env.run("unpack", &["audit", "--head"]);
    head.code(0);
    assert_eq!(head.stdout.trim(), recs[2]["hash"].as_str().unwrap());
    env.run("unpack", &["audit", "--check"])
        .code(0)
        .stdout_has("intact: 3 record(s)");
    env.run("unpack", &["audit"])
        .code(0)
        .stdout_has("configmaps:cms")
        .stdout_has("store:sigs");
    env.run("unpack", &["audit", "--by-release"])
        .code(0)
        .stdout_has(RH_4_10_18);
    // The JSON groups by release: each release once, with its three records in log order.
    let by = env.run("unpack", &["audit", "--by-release", "--json"]);
    by.code(0);
    let groups: serde_json::Value = serde_json::from_str(&by.stdout).unwrap();
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 3);
    let digests: std::collections::BTreeSet<&str> = groups.iter().map(|g| g["digest"].as_str().unwrap()).collect();
    assert_eq!(digests.len(), 3);
    assert!(digests.contains(RH_4_10_18));
    for g in groups {
        let seqs: Vec<u64> = g["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(g["records"][1]["destination"]["kind"], "configmap-dir");
        assert_eq!(g["records"][0]["signatures"].as_array().unwrap().len(), 1);
    }
}

fn tamper(env: &Env, f: impl Fn(&mut Vec<String>)) {
    let path = env.path("state/sigbundle/audit.log");
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    f(&mut lines);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn audit_check_finds_an_edited_a_deleted_and_a_reordered_record() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    for _ in 0..3 {
        env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned"]).code(0);
    }
    let original = std::fs::read_to_string(env.path("state/sigbundle/audit.log")).unwrap();
    let restore = || std::fs::write(env.path("state/sigbundle/audit.log"), &original).unwrap();

    tamper(&env, |l| {
        l[2] = l[2].replace("\"outcome\":\"ok\"", "\"outcome\":\"OK\"")
    });
    env.run("unpack", &["audit", "--check"])
        .code(1)
        .stderr_has("line 3")
        .stderr_has("record 3 was edited");
    restore();
    tamper(&env, |l| {
        l.remove(1);
    });
    env.run("unpack", &["audit", "--check"])
        .code(1)
        .stderr_has("line 2")
        .stderr_has("deleted");
    restore();
    tamper(&env, |l| l.swap(1, 2));
    env.run("unpack", &["audit", "--check"]).code(1).stderr_has("line 2");
    restore();
    env.run("unpack", &["audit", "--check"]).code(0);

    // The last record deleted: the chain alone still holds (it cannot see its own end), the
    // head written in an outside logbook finds it.
    let head = env.run("unpack", &["audit", "--head"]).stdout.trim().to_string();
    env.run("unpack", &["audit", "--check", "--expect-head", &head])
        .code(0)
        .stdout_has("intact: 3 record(s)");
    tamper(&env, |l| {
        l.pop();
    });
    env.run("unpack", &["audit", "--check"])
        .code(0)
        .stdout_has("intact: 2 record(s)");
    env.run("unpack", &["audit", "--check", "--expect-head", &head])
        .code(1)
        .stderr_has(&format!(
            "does not hold the expected record {head}: records were removed"
        ));
    let r = env.run("unpack", &["audit", "--check", "--expect-head", &head, "--json"]);
    r.code(1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["records"].as_u64()),
        (Some("head-missing"), Some(2))
    );
    // An older head is still in the log after more records: a log only grows.
    restore();
    let older = env.audit_records()[0]["hash"].as_str().unwrap().to_string();
    env.run("unpack", &["audit", "--check", "--expect-head", &older.to_uppercase()])
        .code(0);
    env.run("unpack", &["audit", "--check", "--expect-head", "abc"])
        .code(2)
        .stderr_has("64 hexadecimal digits");
    env.run("unpack", &["audit", "--expect-head", &head])
        .code(2)
        .stderr_has("--check");

    // A log that does not exist is not an intact empty chain.
    std::fs::remove_file(env.path("state/sigbundle/audit.log")).unwrap();
    for args in [
        &["audit", "--check"][..],
        &["audit", "--head"],
        &["audit", "--receipt", "b.tar.zst.receipt.json"],
    ] {
        env.run("unpack", args)
            .code(2)
            .stderr_has("no audit log at ")
            .stderr_has("state/sigbundle/audit.log: nothing was recorded there");
    }
}

#[test]
fn a_refused_bundle_leaves_nothing_but_one_audit_record() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let mut bytes = std::fs::read(env.path("b.tar.zst")).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x10;
    std::fs::write(env.path("bad.tar.zst"), &bytes).unwrap();
    env.run(
        "unpack",
        &["emit", "bad.tar.zst", "--allow-unsigned", "--to-dir", "cms"],
    )
    .code(1);
    assert!(!env.path("cms").exists());
    let recs = env.audit_records();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["action"], "emit");
    assert_eq!(recs[0]["outcome"], "refused");
    let problems: Vec<&str> = recs[0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(problems.iter().any(|p| p.contains("corrupt")), "{problems:?}");
    use sha2::Digest;
    assert_eq!(
        recs[0]["bundle_sha256"],
        hex::encode(sha2::Sha256::digest(&bytes)).as_str()
    );
}

#[test]
fn receipts_match_what_was_imported() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("b.tar.zst.receipt.json")).unwrap()).unwrap();
    assert_eq!(receipt["releases"].as_array().unwrap().len(), 3);
    // No log yet: an error, not a guess that the bundle was not imported.
    env.run("unpack", &["audit", "--receipt", "b.tar.zst.receipt.json"])
        .code(2)
        .stderr_has("no audit log at");
    env.pack_unsigned("other.tar.gz", "gzip").code(0);
    env.run("unpack", &["verify", "other.tar.gz", "--allow-unsigned"])
        .code(0);
    env.run("unpack", &["audit", "--receipt", "b.tar.zst.receipt.json"])
        .code(1)
        .stdout_has("not imported");
    env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned"]).code(0);
    env.run("unpack", &["audit", "--receipt", "b.tar.zst.receipt.json"])
        .code(1)
        .stdout_has("only verify");
    env.run("unpack", &["emit", "b.tar.zst", "--allow-unsigned", "--to-dir", "cms"])
        .code(0);
    env.run("unpack", &["audit", "--receipt", "b.tar.zst.receipt.json"])
        .code(0)
        .stdout_has("imported as packed");

    // A receipt whose bundle was swapped on the way: the log never saw that sha256.
    env.pack(None, "other.tar.zst", "zstd", &[RH_4_15_0]).code(0);
    env.run(
        "unpack",
        &["emit", "other.tar.zst", "--allow-unsigned", "--to-dir", "cms2"],
    )
    .code(0);
    let mut r = receipt.clone();
    r["bundle_sha256"] = serde_json::Value::String("00".repeat(32));
    std::fs::write(env.path("swapped.json"), r.to_string()).unwrap();
    env.run("unpack", &["audit", "--receipt", "swapped.json"])
        .code(1)
        .stdout_has("not imported");
}

#[test]
fn a_custom_audit_log_path_is_used() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    env.run(
        "unpack",
        &[
            "--audit-log",
            "my/audit.jsonl",
            "verify",
            "b.tar.zst",
            "--allow-unsigned",
        ],
    )
    .code(0);
    assert_eq!(
        std::fs::read_to_string(env.path("my/audit.jsonl"))
            .unwrap()
            .lines()
            .count(),
        1
    );
    assert!(env.audit_records().is_empty());
    env.run("unpack", &["audit", "--check", "--audit-log", "my/audit.jsonl"])
        .code(0)
        .stdout_has("1 record(s)");
}

#[test]
fn concurrent_runs_append_whole_records_to_one_log() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let children: Vec<_> = (0..8)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_unpack"))
                .args(["verify", "b.tar.zst", "--allow-unsigned"])
                .current_dir(env.dir.path())
                .env("XDG_STATE_HOME", env.path("state"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let recs = env.audit_records();
    assert_eq!(recs.len(), 8, "no record lost or torn");
    let seqs: Vec<u64> = recs.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    env.run("unpack", &["audit", "--check"])
        .code(0)
        .stdout_has("intact: 8 record(s)");
}

/// `unpack audit | head -1`, `inspect | head`, `verify | head`: a reader that closed stdout
/// ends the report quietly with the command's own outcome (exit 0, no panic, no message), and
/// the audit record says what happened. The product itself (`emit --signature`) into a closed
/// pipe, or a report onto a full disk, is an I/O error (exit 2) and recorded as such.
#[test]
fn a_closed_stdout_ends_reports_quietly_and_products_with_an_error() {
    let env = Env::new();
    let (key, public) = env.packer_key("ops");
    let store = fixture("stores/redhat");
    env.run(
        "pack",
        &[
            "--store",
            store.to_str().unwrap(),
            "--sign-key",
            key.to_str().unwrap(),
            "-o",
            "b.tar.zst",
            RH_4_15_0,
            RH_4_10_18,
        ],
    )
    .code(0);
    let public = public.to_str().unwrap();
    let reports: [&[&str]; 6] = [
        &["verify", "b.tar.zst", "--packer-key", public],
        &["verify", "b.tar.zst", "--packer-key", public, "--json"],
        &["inspect", "b.tar.zst"],
        &["inspect", "b.tar.zst", "--json"],
        &["audit"],
        &["audit", "--json"],
    ];
    for args in reports {
        let r = env.run_stdout_to("unpack", args, closed_pipe());
        r.code(0);
        assert!(
            !(r.stderr.contains("panic") || r.stderr.contains("error")),
            "{args:?}: {}",
            r.stderr
        );
    }
    let outcomes: Vec<(String, String)> = env
        .audit_records()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().into(),
                r["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [("verify".into(), "ok".into()), ("verify".into(), "ok".into())]
    );

    let r = env.run_stdout_to(
        "unpack",
        &["emit", "b.tar.zst", "--packer-key", public, "--signature", RH_4_15_0],
        closed_pipe(),
    );
    r.code(2).stderr_has("cannot write to stdout");
    let last = env.audit_records().pop().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["outcome"].as_str()),
        (Some("emit"), Some("failed"))
    );

    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let r = env.run_stdout_to("unpack", &["verify", "b.tar.zst", "--packer-key", public], full.into());
    r.code(2).stderr_has("cannot write to stdout: No space left on device");
    assert!(
        !r.stderr.contains("OK:"),
        "no tally after a report that was not written: {}",
        r.stderr
    );
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    env.run_stdout_to("unpack", &["audit"], full.into())
        .code(2)
        .stderr_has("cannot write to stdout");
}

/// `emit --to-dir` says what it did to each file (created, replaced, unchanged), never "wrote"
/// for files it left alone; a folder holding the same ConfigMaps in the other format is
/// refused (`oc apply -f` would apply both), with nothing written.
#[test]
fn emit_counts_what_it_did_and_never_leaves_two_formats() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let emit = |extra: &[&str]| {
        let mut args = vec!["emit", "b.tar.zst", "--allow-unsigned", "--to-dir", "cms"];
        args.extend(extra);
        env.run("unpack", &args)
    };
    emit(&[])
        .code(0)
        .stderr_has("3 ConfigMap file(s) in cms (3 created); load them with: oc apply -f cms");
    emit(&[]).code(0).stderr_has("(3 unchanged)").stdout_has("unchanged ");
    let before = env.ls("cms");
    let r = emit(&["--format", "yaml"]);
    r.code(2)
        .stderr_has("holds the ConfigMap of sha256:")
        .stderr_has("in the other format: `oc apply -f` on the folder would apply both");
    assert_eq!(env.ls("cms"), before, "nothing written");
    emit(&["--format", "yaml", "--force"])
        .code(2)
        .stderr_has("in the other format");
    assert_eq!(env.ls("cms"), before);
}

/// A bundle packed with --allow-missing verifies, and its verify line says what is not in it.
#[test]
fn verify_of_a_bundle_packed_with_allow_missing_says_what_is_missing() {
    let env = Env::new();
    let absent = format!("sha256:{}", "ab".repeat(32));
    env.run(
        "pack",
        &[
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "--allow-missing",
            "-o",
            "m.tar.zst",
            RH_4_15_0,
            &absent,
        ],
    )
    .code(0);
    env.run("unpack", &["verify", "m.tar.zst", "--allow-unsigned"])
        .code(0)
        .stderr_has(&format!(
            "OK: 1 release(s), 1 signature(s) verified; 1 release(s) were packed without a valid signature (--allow-missing) and are not in it: {absent}"
        ));
}
