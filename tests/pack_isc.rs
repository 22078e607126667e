//! `pack --from-isc`: an oc-mirror ImageSetConfiguration (tests/fixtures/isc/) resolved against
//! the real stable-4.13 graph served on 127.0.0.1, each channel with its own range and each
//! architecture asked for its own graph; what sigbundle cannot honour is refused (exit 2).

mod common;

use std::collections::BTreeMap;

use common::*;
use sha2::Digest as _;

/// (version, digest) of the stable-4.13 graph fixture within an inclusive range, computed here
/// from the JSON, independently of sigbundle's selection.
fn nodes(graph: &serde_json::Value, min: (u64, u64, u64), max: (u64, u64, u64)) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in graph["nodes"].as_array().unwrap() {
        let v = n["version"].as_str().unwrap();
        let p: Vec<u64> = v.split('.').map(|p| p.parse().unwrap()).collect();
        if (p[0], p[1], p[2]) >= min && (p[0], p[1], p[2]) <= max {
            let d = n["payload"].as_str().unwrap().split('@').nth(1).unwrap().to_string();
            out.push((v.to_string(), d));
        }
    }
    out.sort();
    out
}

fn amd64_graph() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture("graph/amd64-stable-4.13.json")).unwrap()).unwrap()
}

/// The same graph with every payload digest replaced (a stand-in for the arm64 answer, whose
/// releases are other images).
fn other_arch_graph() -> serde_json::Value {
    let mut g = amd64_graph();
    for n in g["nodes"].as_array_mut().unwrap() {
        let p = n["payload"].as_str().unwrap().to_string();
        let (repo, d) = p.split_once('@').unwrap();
        let new = hex::encode(sha2::Sha256::digest(d.as_bytes()));
        n["payload"] = serde_json::Value::String(format!("{repo}@sha256:{new}"));
    }
    g
}

/// A loopback update service answering every query with the stable-4.13 graph, and
/// `arch=arm64` with [`other_arch_graph`].
fn graph_server(env: &Env) -> (StoreServer, String) {
    std::fs::create_dir_all(env.path("graphsrv")).unwrap();
    std::fs::copy(fixture("graph/amd64-stable-4.13.json"), env.path("graphsrv/graph")).unwrap();
    std::fs::write(
        env.path("graphsrv/graph?channel=stable-4.12&arch=amd64"),
        serde_json::to_vec(&stable_4_12_graph()).unwrap(),
    )
    .unwrap();
    for channel in ["stable-4.13", "fast-4.13"] {
        std::fs::write(
            env.path(&format!("graphsrv/graph?channel={channel}&arch=arm64")),
            serde_json::to_vec(&other_arch_graph()).unwrap(),
        )
        .unwrap();
    }
    let server = StoreServer::serve(&env.path("graphsrv"));
    let url = format!("{}/graph", server.url);
    (server, url)
}

/// `pack --dry-run --json` with the Red Hat fixture store: the plan as digest → names.
fn plan(env: &Env, args: &[&str]) -> (Run, BTreeMap<String, Vec<String>>) {
    let store = fixture("stores/redhat");
    let mut all = vec!["--store", store.to_str().unwrap(), "--no-sign", "--dry-run", "--json"];
    all.extend(args);
    let r = env.run("pack", &all);
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: stdout {}\nstderr {}", r.stdout, r.stderr));
    let plan = v["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let names = o["requested"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            (o["digest"].as_str().unwrap().to_string(), names)
        })
        .collect();
    (r, plan)
}

fn want(channel: &str, nodes: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    nodes
        .iter()
        .map(|(v, d)| (d.clone(), vec![format!("channel:{channel}@{v}")]))
        .collect()
}

/// Add `channel:<channel>@<version>` names for these versions of `graph` to a plan.
fn with_path(plan: &mut BTreeMap<String, Vec<String>>, graph: &serde_json::Value, channel: &str, versions: &[&str]) {
    for v in versions {
        let p: Vec<u64> = v.split('.').map(|p| p.parse().unwrap()).collect();
        let (_, d) = nodes(graph, (p[0], p[1], p[2]), (p[0], p[1], p[2]))
            .pop()
            .expect("a node of the graph");
        let names = plan.entry(d).or_default();
        names.push(format!("channel:{channel}@{v}"));
        names.sort();
        names.dedup();
    }
}

/// The stable-4.13 graph cut to its 4.12 releases and the updates between them (a stand-in for
/// stable-4.12, whose head is then 4.12.58).
fn stable_4_12_graph() -> serde_json::Value {
    let g = amd64_graph();
    let keep: Vec<usize> = (0..g["nodes"].as_array().unwrap().len())
        .filter(|&i| g["nodes"][i]["version"].as_str().unwrap().starts_with("4.12."))
        .collect();
    let at = |i: u64| keep.iter().position(|&k| k as u64 == i);
    let edges: Vec<serde_json::Value> = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some(serde_json::json!([at(e[0].as_u64()?)?, at(e[1].as_u64()?)?])))
        .collect();
    serde_json::json!({
        "version": 1,
        "nodes": keep.iter().map(|&i| g["nodes"][i].clone()).collect::<Vec<_>>(),
        "edges": edges,
    })
}

fn isc(name: &str) -> String {
    fixture(&format!("isc/{name}")).display().to_string()
}

#[test]
fn a_channel_range_is_packed_and_other_sections_are_noted_once() {
    let env = Env::new();
    let (server, url) = graph_server(&env);
    let range = nodes(&amd64_graph(), (4, 13, 0), (4, 13, 3));
    assert_eq!(range.len(), 4);
    let signer = GpgSigner::new(&env);
    for (v, d) in &range {
        signer.sign_into(
            &env.path("store"),
            d,
            1,
            &format!("quay.io/openshift-release-dev/ocp-release:{v}-x86_64"),
        );
    }
    let keyring = signer.public.to_str().unwrap();
    let file = isc("channel-range.yaml");
    let r = env.run(
        "pack",
        &[
            "--from-isc",
            &file,
            "--graph-url",
            &url,
            "--store",
            "store",
            "--keyring",
            keyring,
            "--no-sign",
            "-o",
            "c.tar.zst",
        ],
    );
    r.code(0).stderr_has(&format!(
        "note: {file}: sigbundle carries only release signatures; not read: mirror.operators, mirror.additionalImages, mirror.helm, mirror.platform.graph (the graph-data image)\n"
    ));
    assert_eq!(r.stderr.matches("note:").count(), 1, "{}", r.stderr);
    assert_eq!(
        *server.requests.lock().unwrap(),
        ["/graph?channel=stable-4.13&arch=amd64"]
    );
    let v = env.run(
        "unpack",
        &[
            "verify",
            "c.tar.zst",
            "--allow-unsigned",
            "--keyring",
            keyring,
            "--json",
        ],
    );
    v.code(0);
    let v: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    let got: BTreeMap<String, Vec<String>> = v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["digest"].as_str().unwrap().to_string(),
                r["requested"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(got, want("stable-4.13", &range));

    // The same from a saved graph answer, and -q says no note.
    let graph = fixture("graph/amd64-stable-4.13.json");
    let (r, got) = plan(
        &env,
        &[
            "-q",
            "--from-isc",
            &file,
            "--graph-file",
            graph.to_str().unwrap(),
            "--graph-file-arch",
            "amd64",
        ],
    );
    r.code(1);
    assert!(!r.stderr.contains("note:"), "{}", r.stderr);
    assert_eq!(got, want("stable-4.13", &range));
}

#[test]
fn a_channel_without_a_range_is_its_head_and_full_is_all_of_it() {
    let env = Env::new();
    let (_server, url) = graph_server(&env);
    let (r, got) = plan(&env, &["--from-isc", &isc("channel-head.yaml"), "--graph-url", &url]);
    r.code(1);
    let head = nodes(&amd64_graph(), (4, 13, 43), (4, 13, 43));
    assert_eq!(got, want("stable-4.13", &head));

    std::fs::write(
        env.path("full.yaml"),
        "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    channels:\n    - name: stable-4.13\n      full: true\n",
    )
    .unwrap();
    let (r, got) = plan(&env, &["--from-isc", "full.yaml", "--graph-url", &url]);
    r.code(1);
    let all = nodes(&amd64_graph(), (0, 0, 0), (9, 9, 9));
    assert_eq!(all.len(), 98);
    assert_eq!(got, want("stable-4.13", &all));

    // Only maxVersion: from the channel's lowest release (4.12.0 in stable-4.13) up to it.
    std::fs::write(
        env.path("max.yaml"),
        "kind: ImageSetConfiguration\nmirror:\n  platform:\n    channels:\n    - name: stable-4.13\n      maxVersion: 4.12.2\n",
    )
    .unwrap();
    let (r, got) = plan(&env, &["--from-isc", "max.yaml", "--graph-url", &url]);
    r.code(1);
    assert_eq!(got, want("stable-4.13", &nodes(&amd64_graph(), (0, 0, 0), (4, 12, 2))));
}

/// Expected paths were computed apart from sigbundle (a breadth-first search over the fixture's
/// edges, each node's updates from the highest version down, as oc-mirror's `GetUpdates`).
#[test]
fn two_channels_keep_their_own_ranges_and_get_the_update_path_between_them() {
    let env = Env::new();
    let (server, url) = graph_server(&env);
    let file = isc("two-channels.yaml");
    let (r, got) = plan(
        &env,
        &[
            "--from-isc",
            &file,
            "--graph-url",
            &url,
            "--channel",
            "candidate-4.13",
            "--min-version",
            "4.13.10",
            "--max-version",
            "4.13.11",
            RH_4_15_0,
        ],
    );
    r.code(1);
    let g = amd64_graph();
    let mut expected = want("stable-4.13", &nodes(&g, (4, 12, 0), (4, 12, 2)));
    expected.extend(want("fast-4.13", &nodes(&g, (4, 13, 40), (4, 13, 43))));
    expected.extend(want("candidate-4.13", &nodes(&g, (4, 13, 10), (4, 13, 11))));
    expected.insert(RH_4_15_0.to_string(), vec![RH_4_15_0.to_string()]);
    // Both channels are 4.13: the path from the lowest first release (4.12.0, stable-4.13) to
    // the highest last one (4.13.43, fast-4.13) in the last channel's graph.
    with_path(&mut expected, &g, "fast-4.13", &["4.12.0", "4.12.58", "4.13.43"]);
    assert_eq!(expected.len(), 3 + 4 + 2 + 1 + 1);
    assert_eq!(got, expected);
    let mut log = server.requests.lock().unwrap().clone();
    log.sort();
    assert_eq!(
        log,
        [
            "/graph?channel=candidate-4.13&arch=amd64",
            "/graph?channel=fast-4.13&arch=amd64",
            "/graph?channel=stable-4.13&arch=amd64"
        ]
    );

    // Channels of two minor versions: the first channel's path to its head (4.12.58), then the
    // next channel's from there.
    std::fs::write(
        env.path("minors.yaml"),
        "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    channels:\n    - name: stable-4.13\n      minVersion: 4.13.40\n      maxVersion: 4.13.43\n    - name: stable-4.12\n      minVersion: 4.12.0\n      maxVersion: 4.12.2\n",
    )
    .unwrap();
    let (r, got) = plan(&env, &["--from-isc", "minors.yaml", "--graph-url", &url]);
    r.code(1);
    let g12 = stable_4_12_graph();
    let mut expected = want("stable-4.13", &nodes(&g, (4, 13, 40), (4, 13, 43)));
    expected.extend(want("stable-4.12", &nodes(&g12, (4, 12, 0), (4, 12, 2))));
    with_path(&mut expected, &g12, "stable-4.12", &["4.12.0", "4.12.58"]);
    with_path(&mut expected, &g, "stable-4.13", &["4.12.58", "4.13.43"]);
    assert_eq!(expected.len(), 4 + 3 + 1);
    assert_eq!(got, expected);
}

#[test]
fn shortest_path_takes_the_update_path_not_the_range() {
    let env = Env::new();
    let (_server, url) = graph_server(&env);
    let (r, got) = plan(&env, &["--from-isc", &isc("shortest-path.yaml"), "--graph-url", &url]);
    r.code(1);
    let mut expected = BTreeMap::new();
    with_path(
        &mut expected,
        &amd64_graph(),
        "stable-4.13",
        &["4.12.0", "4.12.58", "4.13.43"],
    );
    assert_eq!(got, expected);

    // No path joins them: oc-mirror still takes both ends.
    std::fs::write(
        env.path("nopath.yaml"),
        "kind: ImageSetConfiguration\nmirror:\n  platform:\n    channels:\n    - name: stable-4.13\n      minVersion: 4.12.0\n      maxVersion: 4.13.10\n      shortestPath: true\n",
    )
    .unwrap();
    let (r, got) = plan(&env, &["--from-isc", "nopath.yaml", "--graph-url", &url]);
    r.code(1);
    let mut expected = BTreeMap::new();
    with_path(&mut expected, &amd64_graph(), "stable-4.13", &["4.12.0", "4.13.10"]);
    assert_eq!(got, expected);

    // An end that is not a release of the channel is an error, as in oc-mirror.
    std::fs::write(
        env.path("absent.yaml"),
        "kind: ImageSetConfiguration\nmirror:\n  platform:\n    channels:\n    - name: stable-4.13\n      minVersion: 4.12.0\n      maxVersion: 4.13.99\n      shortestPath: true\n",
    )
    .unwrap();
    env.run(
        "pack",
        &[
            "--from-isc",
            "absent.yaml",
            "--graph-url",
            &url,
            "--no-sign",
            "--dry-run",
        ],
    )
    .code(2)
    .stderr_has("requested version 4.13.99 is not in the channel");
}

#[test]
fn two_architectures_ask_for_two_graphs() {
    let env = Env::new();
    let (server, url) = graph_server(&env);
    let (r, got) = plan(
        &env,
        &["--from-isc", &isc("two-architectures.yaml"), "--graph-url", &url],
    );
    r.code(1);
    let mut expected = want("stable-4.13", &nodes(&amd64_graph(), (4, 13, 1), (4, 13, 2)));
    expected.extend(want("stable-4.13", &nodes(&other_arch_graph(), (4, 13, 1), (4, 13, 2))));
    assert_eq!(expected.len(), 4);
    assert_eq!(got, expected);
    let mut log = server.requests.lock().unwrap().clone();
    log.sort();
    assert_eq!(
        log,
        [
            "/graph?channel=stable-4.13&arch=amd64",
            "/graph?channel=stable-4.13&arch=arm64"
        ]
    );

    // One saved graph answer is for one architecture: the other is refused by name.
    let graph = fixture("graph/amd64-stable-4.13.json");
    env.run(
        "pack",
        &[
            "--from-isc",
            &isc("two-architectures.yaml"),
            "--graph-file",
            graph.to_str().unwrap(),
            "--graph-file-arch",
            "amd64",
            "--no-sign",
            "--dry-run",
        ],
    )
    .code(2)
    .stderr_has(
        "saved for architecture amd64, but arm64 is asked for (by --arch, or an ImageSetConfiguration's architectures)",
    );

    // platforms (oc-mirror v2's newer field) means the multi-arch payload.
    std::fs::write(
        env.path("platforms.yaml"),
        "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    platforms:\n    - os: linux\n      architecture: arm64\n    channels:\n    - name: stable-4.13\n",
    )
    .unwrap();
    plan(&env, &["--from-isc", "platforms.yaml", "--graph-url", &url])
        .0
        .code(1);
    assert_eq!(
        server.requests.lock().unwrap().last().unwrap(),
        "/graph?channel=stable-4.13&arch=multi"
    );
}

#[test]
fn a_release_entry_is_packed_and_its_channels_are_not_read() {
    let env = Env::new();
    let (server, url) = graph_server(&env);
    let file = isc("release.yaml");
    let (r, got) = plan(&env, &["--from-isc", &file, "--graph-url", &url]);
    r.code(0);
    let name = format!("quay.io/openshift-release-dev/ocp-release@{RH_4_15_0}");
    assert_eq!(got, BTreeMap::from([(RH_4_15_0.to_string(), vec![name.clone()])]));

    std::fs::write(
        env.path("both.yaml"),
        format!("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n    release: docker://{name}\n    channels:\n    - name: stable-4.13\n"),
    )
    .unwrap();
    let (r, got) = plan(&env, &["--from-isc", "both.yaml", "--graph-url", &url]);
    r.code(0).stderr_has(
        "note: both.yaml: mirror.platform.release is set, so its channels are not read (oc-mirror takes only the release then)",
    );
    assert_eq!(got.keys().collect::<Vec<_>>(), [RH_4_15_0]);
    assert_eq!(server.request_count(), 0, "no graph asked for");
}

/// Refusals are one line naming the file (and the field), exit 2, before anything is fetched.
#[test]
fn what_sigbundle_cannot_honour_is_refused_by_name() {
    let env = Env::new();
    let (server, url) = graph_server(&env);
    let refused = |file: &str, needle: &str| {
        let r = env.run(
            "pack",
            &["--from-isc", file, "--graph-url", &url, "--no-sign", "--dry-run"],
        );
        r.code(2).stderr_has(&format!("{file}: {needle}"));
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    };
    refused(
        &isc("wrong-kind.yaml"),
        "kind \"DeleteImageSetConfiguration\" is not ImageSetConfiguration",
    );
    refused(&isc("bad-yaml.yaml"), "not a valid ImageSetConfiguration: ");
    let cases = [
        (
            "okd.yaml",
            "    channels:\n    - name: 4-stable\n      type: okd\n",
            "mirror.platform.channels[0].type: okd",
        ),
        (
            "arch.yaml",
            "    architectures: [sparc]\n    channels:\n    - name: stable-4.13\n",
            "mirror.platform.architectures[0]: unknown architecture \"sparc\"",
        ),
        (
            "min.yaml",
            "    channels:\n    - name: stable-4.13\n      minVersion: \"4.13\"\n",
            "mirror.platform.channels[0].minVersion: \"4.13\" is not a version",
        ),
        (
            "dup.yaml",
            "    channels:\n    - name: stable-4.13\n    - name: stable-4.13\n",
            "mirror.platform.channels[1].name: channel \"stable-4.13\" appears twice",
        ),
        (
            "typo.yaml",
            "    chanels:\n    - name: stable-4.13\n",
            "not a valid ImageSetConfiguration: ",
        ),
        (
            "disk.yaml",
            "    release: oci:///mnt/release\n",
            "mirror.platform.release: oci:// is a release on disk",
        ),
    ];
    for (name, platform, needle) in cases {
        std::fs::write(
            env.path(name),
            format!("kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nmirror:\n  platform:\n{platform}"),
        )
        .unwrap();
        refused(name, needle);
    }
    std::fs::write(
        env.path("v2-storage.yaml"),
        "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v2alpha1\nstorageConfig:\n  local:\n    path: x\nmirror: {}\n",
    )
    .unwrap();
    refused("v2-storage.yaml", "storageConfig is an oc-mirror v1 field");
    std::fs::write(
        env.path("v1-release.yaml"),
        "kind: ImageSetConfiguration\napiVersion: mirror.openshift.io/v1alpha2\nmirror:\n  platform:\n    release: quay.io/a/b:1\n",
    )
    .unwrap();
    refused(
        "v1-release.yaml",
        "mirror.platform.release is not a field of mirror.openshift.io/v1alpha2",
    );
    std::fs::write(env.path("big.yaml"), vec![b'#'; (1 << 20) + 1]).unwrap();
    refused("big.yaml", "larger than 1048576 bytes");
    assert_eq!(server.request_count(), 0);
}
