//! The update path: `pack --update-path FROM TO` packs exactly the releases a cluster updates
//! through on the real stable-4.13 graph (and across a second channel made from it), taking a
//! conditional update only with its risk accepted; `unpack check-path` says hop by hop whether
//! a bundle carries them and names the first hop the cluster would refuse.
//!
//! The expected paths were worked out apart from sigbundle (a breadth-first search in Python
//! over the fixture's `edges` and `conditionalEdges`, each release's updates tried from the
//! highest version down): 4.13.32 → 4.13.41 is 4.13.33, 4.13.36, 4.13.41 by unconditional
//! updates, and the one conditional update 4.13.32 → 4.13.41 (risk CephCapDropPanic).

mod common;

use common::*;

const GRAPH: &str = "graph/amd64-stable-4.13.json";

/// Each node's version → digest in the fixture graph.
fn digests() -> std::collections::BTreeMap<String, String> {
    let g: serde_json::Value = serde_json::from_slice(&std::fs::read(fixture(GRAPH)).unwrap()).unwrap();
    g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let d = n["payload"].as_str().unwrap().split('@').nth(1).unwrap().to_string();
            (n["version"].as_str().unwrap().to_string(), d)
        })
        .collect()
}

/// The release digests a bundle holds and what each was asked as.
fn packed(env: &Env, bundle: &str, keyring: &str) -> Vec<(String, String)> {
    let r = env.run(
        "unpack",
        &["verify", bundle, "--allow-unsigned", "--keyring", keyring, "--json"],
    );
    r.code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let mut out: Vec<(String, String)> = v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["digest"].as_str().unwrap().to_string(),
                r["requested"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn pack_update_path_packs_exactly_the_hops_and_check_path_names_a_missing_one() {
    let env = Env::new();
    let all = digests();
    let signer = GpgSigner::new(&env);
    // Signatures of every 4.13.3x/4.13.4x release: the path decides which are packed.
    for (v, d) in &all {
        if v.starts_with("4.13.3") || v.starts_with("4.13.4") {
            signer.sign_into(
                &env.path("store"),
                d,
                1,
                &format!("quay.io/openshift-release-dev/ocp-release:{v}-x86_64"),
            );
        }
    }
    let keyring = signer.public.to_str().unwrap();
    let graph = fixture(GRAPH);
    let graph = graph.to_str().unwrap();
    let pack = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "--graph-file",
            graph,
            "--graph-file-arch",
            "amd64",
            "--channel",
            "stable-4.13",
            "--store",
            "store",
            "--keyring",
            keyring,
            "--no-sign",
            "-o",
            out,
            "--update-path",
            "4.13.32",
            "4.13.41",
        ];
        args.extend(extra);
        env.run("pack", &args)
    };

    let r = pack("path.tar.zst", &[]);
    r.code(0)
        .stderr_has("update path 4.13.32 → 4.13.41 (3 hop(s)):")
        .stderr_has(&format!("  4.13.32 → 4.13.33  {}", all["4.13.33"]))
        .stderr_has(&format!("  4.13.36 → 4.13.41  {}", all["4.13.41"]));
    let mut want: Vec<(String, String)> = ["4.13.33", "4.13.36", "4.13.41"]
        .iter()
        .map(|v| (all[*v].clone(), format!("update-path:4.13.32..4.13.41@{v}")))
        .collect();
    want.sort();
    assert_eq!(packed(&env, "path.tar.zst", keyring), want);

    // The conditional update, with its risk accepted: one hop.
    let r = pack("risky.tar.zst", &["--accept-risks", "CephCapDropPanic"]);
    r.code(0)
        .stderr_has("(1 hop(s))")
        .stderr_has("(conditional, accepted risks: CephCapDropPanic)");
    assert_eq!(
        packed(&env, "risky.tar.zst", keyring),
        [(
            all["4.13.41"].clone(),
            "update-path:4.13.32..4.13.41@4.13.41".to_string()
        )]
    );

    // check-path: the first bundle carries every hop; the second only the risky one.
    let check = |bundle: &str, extra: &[&str]| {
        let mut args = vec![
            "check-path",
            bundle,
            "--allow-unsigned",
            "--keyring",
            keyring,
            "--from",
            "4.13.32",
            "--to",
            "4.13.41",
            "--graph-file",
            graph,
        ];
        args.extend(extra);
        env.run("unpack", &args)
    };
    check("path.tar.zst", &[])
        .code(0)
        .stdout_has(&format!(
            "  4.13.33 → 4.13.36  {}  carried: 1 valid signature(s)",
            all["4.13.36"]
        ))
        .stderr_has("OK: every one of the 3 hop(s) from 4.13.32 to 4.13.41");
    check("risky.tar.zst", &[])
        .code(1)
        .stdout_has(&format!("  4.13.32 → 4.13.33  {}  MISSING", all["4.13.33"]))
        .stderr_has(&format!(
            "the cluster would refuse the update 4.13.32 → 4.13.33: risky.tar.zst holds no valid signature of {}",
            all["4.13.33"]
        ))
        .stderr_has("(2 of 3 hop(s) not carried)");
    check("risky.tar.zst", &["--accept-risks", "CephCapDropPanic"]).code(0);
    // From the digest the cluster runs, as JSON.
    let r = env.run(
        "unpack",
        &[
            "check-path",
            "path.tar.zst",
            "--allow-unsigned",
            "--keyring",
            keyring,
            "--from",
            &all["4.13.32"],
            "--to",
            "4.13.41",
            "--graph-file",
            graph,
            "--json",
        ],
    );
    r.code(0);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j["ok"], true);
    assert_eq!(j["from"]["version"], "4.13.32");
    assert_eq!(j["hops"].as_array().unwrap().len(), 3);
    assert_eq!(j["hops"][2]["version"], "4.13.41");
    assert_eq!(j["hops"][2]["signatures"], 1);

    // Refusals: no channel, an end not in the graph, no path without a risk.
    env.run(
        "pack",
        &[
            "--graph-file",
            graph,
            "--graph-file-arch",
            "amd64",
            "--no-sign",
            "--dry-run",
            "--update-path",
            "4.13.32",
            "4.13.41",
        ],
    )
    .code(2)
    .stderr_has("--update-path needs the channels its path runs over");
    pack("x.tar.zst", &["--dry-run"]).code(0);
    let mut args = vec![
        "--graph-file",
        graph,
        "--graph-file-arch",
        "amd64",
        "--channel",
        "stable-4.13",
    ];
    args.extend(["--no-sign", "--dry-run", "--update-path", "4.13.32", "4.99.0"]);
    env.run("pack", &args)
        .code(2)
        .stderr_has("target release 4.99.0 is not a release in the update graph of stable-4.13");
    let mut args = vec![
        "--graph-file",
        graph,
        "--graph-file-arch",
        "amd64",
        "--channel",
        "stable-4.13",
    ];
    args.extend(["--no-sign", "--dry-run", "--update-path", "4.13.1", "4.13.36"]);
    env.run("pack", &args)
        .code(2)
        .stderr_has("no update path from 4.13.1 to 4.13.36 in stable-4.13 without accepting the risks of its conditional updates: CephCapDropPanic, HighNodeStatusReportFrequency");
    assert!(!env.path("x.tar.zst").exists());
}

#[test]
fn an_update_path_across_two_channels_from_the_update_service() {
    let env = Env::new();
    let all = digests();
    // fast-4.14, made from the fixture: 4.13.41 and a 4.14.0 it updates to.
    let d414 = format!("sha256:{}", "41".repeat(32));
    let fast = serde_json::json!({
        "version": 1,
        "nodes": [
            {"version": "4.13.41", "payload": format!("quay.io/openshift-release-dev/ocp-release@{}", all["4.13.41"]), "metadata": {}},
            {"version": "4.14.0", "payload": format!("quay.io/openshift-release-dev/ocp-release@{d414}"), "metadata": {}}
        ],
        "edges": [[0, 1]],
        "conditionalEdges": []
    });
    std::fs::create_dir(env.path("graphsrv")).unwrap();
    std::fs::copy(
        fixture(GRAPH),
        env.path("graphsrv/graph?channel=stable-4.13&arch=amd64"),
    )
    .unwrap();
    std::fs::write(
        env.path("graphsrv/graph?channel=fast-4.14&arch=amd64"),
        fast.to_string(),
    )
    .unwrap();
    let server = StoreServer::serve(&env.path("graphsrv"));
    let signer = GpgSigner::new(&env);
    let hops = ["4.13.33", "4.13.36", "4.13.41"];
    for v in hops {
        signer.sign_into(
            &env.path("store"),
            &all[v],
            1,
            &format!("quay.io/openshift-release-dev/ocp-release:{v}-x86_64"),
        );
    }
    signer.sign_into(
        &env.path("store"),
        &d414,
        1,
        "quay.io/openshift-release-dev/ocp-release:4.14.0-x86_64",
    );
    let keyring = signer.public.to_str().unwrap();
    let url = format!("{}/graph", server.url);
    let r = env.run(
        "pack",
        &[
            "--graph-url",
            &url,
            "--channel",
            "stable-4.13",
            "--channel",
            "fast-4.14",
            "--update-path",
            "4.13.32",
            "4.14.0",
            "--store",
            "store",
            "--keyring",
            keyring,
            "--no-sign",
            "-o",
            "x.tar.zst",
        ],
    );
    r.code(0)
        .stderr_has("(4 hop(s))")
        .stderr_has(&format!("  4.13.41 → 4.14.0  {d414}"));
    let got: Vec<String> = packed(&env, "x.tar.zst", keyring).into_iter().map(|(d, _)| d).collect();
    let mut want: Vec<String> = hops.iter().map(|v| all[*v].clone()).chain([d414.clone()]).collect();
    want.sort();
    assert_eq!(got, want);
    let log = server.requests.lock().unwrap().clone();
    assert!(
        log.contains(&"/graph?channel=fast-4.14&arch=amd64".to_string()),
        "{log:?}"
    );
}

#[test]
fn check_path_counts_what_the_cluster_holds_already() {
    let env = Env::new();
    let all = digests();
    let signer = GpgSigner::new(&env);
    for v in ["4.13.33", "4.13.36", "4.13.41"] {
        signer.sign_into(
            &env.path("store"),
            &all[v],
            1,
            &format!("quay.io/openshift-release-dev/ocp-release:{v}-x86_64"),
        );
    }
    let keyring = signer.public.to_str().unwrap();
    let pack = |out: &str, digests: &[&str]| {
        let mut args = vec!["--store", "store", "--keyring", keyring, "--no-sign", "-o", out];
        args.extend(digests);
        env.run("pack", &args).code(0);
    };
    // The cluster got 4.13.33 earlier; this month's bundle holds 4.13.41 only.
    pack("earlier.tar.zst", &[&all["4.13.33"]]);
    pack("now.tar.zst", &[&all["4.13.41"]]);
    let api = env.cluster();
    env.run(
        "unpack",
        &[
            "apply",
            "earlier.tar.zst",
            "--allow-unsigned",
            "--keyring",
            keyring,
            "--kubeconfig",
            "kubeconfig",
        ],
    )
    .code(0);
    let graph = fixture(GRAPH);
    let check = |extra: &[&str]| {
        let mut args = vec!["check-path", "now.tar.zst", "--allow-unsigned", "--keyring", keyring];
        args.extend([
            "--from",
            "4.13.32",
            "--to",
            "4.13.41",
            "--graph-file",
            graph.to_str().unwrap(),
        ]);
        args.extend(extra);
        env.run("unpack", &args)
    };
    check(&["--kubeconfig", "kubeconfig"])
        .code(1)
        .stdout_has(&format!("  4.13.32 → 4.13.33  {}  in the cluster already: 1 valid signature(s)", all["4.13.33"]))
        .stderr_has(&format!(
            "the cluster would refuse the update 4.13.33 → 4.13.36: neither now.tar.zst nor the cluster holds a valid signature of {}",
            all["4.13.36"]
        ));
    // Now the cluster has 4.13.36 too: every hop is covered.
    pack("more.tar.zst", &[&all["4.13.36"]]);
    env.run(
        "unpack",
        &[
            "apply",
            "more.tar.zst",
            "--allow-unsigned",
            "--keyring",
            keyring,
            "--kubeconfig",
            "kubeconfig",
        ],
    )
    .code(0);
    check(&["--kubeconfig", "kubeconfig"]).code(0);
    // Without asking the cluster, the bundle alone does not cover the path.
    check(&[]).code(1);
    assert_eq!(api.state.objects.lock().unwrap().len(), 2);
}
