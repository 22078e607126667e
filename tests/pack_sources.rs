//! `pack` resolving every kind of name (digests, pullspecs by tag through a real registry,
//! versions, channels from the update graph, list files) and fetching through faults, all on
//! 127.0.0.1.

mod common;

use std::sync::atomic::Ordering;

use common::*;

/// Release digests and the names they were asked as, from `unpack verify --json`.
fn packed(env: &Env, bundle: &str, keyring: &str) -> Vec<(String, Vec<String>)> {
    let r = env.run(
        "unpack",
        &["verify", bundle, "--allow-unsigned", "--keyring", keyring, "--json"],
    );
    r.code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    v["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let names = r["requested"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect();
            (r["digest"].as_str().unwrap().to_string(), names)
        })
        .collect()
}

#[test]
fn tags_and_versions_resolve_through_a_real_registry() {
    let env = Env::new();
    let reg = RegistryProcess::start(None);
    let (amd_manifest, amd) = reg.push_image("ocp/release", "4.15.0-x86_64", "amd64", None);
    let (_, arm) = reg.push_image("ocp/release", "4.15.0-aarch64", "arm64", None);
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{amd}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
        amd_manifest.len()
    );
    let multi = reg.push_manifest(
        "ocp/release",
        "4.15.0-multi",
        "application/vnd.oci.image.index.v1+json",
        index.as_bytes(),
        None,
    );
    {
        use sha2::Digest;
        assert_eq!(
            amd,
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(&amd_manifest)))
        );
    }
    let signer = GpgSigner::new(&env);
    let store = env.path("store");
    for (d, id) in [(&amd, "x86_64"), (&arm, "aarch64"), (&multi, "multi")] {
        signer.sign_into(
            &store,
            d,
            1,
            &format!("quay.io/openshift-release-dev/ocp-release:4.15.0-{id}"),
        );
    }
    let keyring = signer.public.to_str().unwrap();
    let repo = format!("{}/ocp/release", reg.host);
    let tag = format!("{repo}:4.15.0-x86_64");
    env.run(
        "pack",
        &[
            "--insecure-registry",
            &reg.host,
            "--store",
            "store",
            "--keyring",
            keyring,
            "--no-sign",
            "-o",
            "t.tar.zst",
            &tag,
        ],
    )
    .code(0);
    assert_eq!(packed(&env, "t.tar.zst", keyring), [(amd.clone(), vec![tag.clone()])]);

    // A bare version is the tag <version>-<arch> of --release-repo; multi is the index digest.
    let args = [
        "--insecure-registry",
        &reg.host,
        "--release-repo",
        &repo,
        "--store",
        "store",
        "--keyring",
        keyring,
    ];
    let mut multi_args = args.to_vec();
    multi_args.extend(["--no-sign", "--arch", "multi", "-o", "m.tar.zst", "4.15.0"]);
    env.run("pack", &multi_args).code(0);
    assert_eq!(
        packed(&env, "m.tar.zst", keyring),
        [(multi.clone(), vec!["4.15.0".to_string()])]
    );
    let mut arm_args = args.to_vec();
    arm_args.extend(["--no-sign", "--arch", "aarch64", "-o", "a.tar.zst", "4.15.0"]);
    env.run("pack", &arm_args).code(0);
    assert_eq!(packed(&env, "a.tar.zst", keyring)[0].0, arm);

    // An unknown tag is an error naming the pullspec and the HTTP status, and writes nothing.
    let missing = format!("{repo}:9.9.9-x86_64");
    let mut bad = args.to_vec();
    bad.extend(["--no-sign", "-o", "x.tar.zst", &missing]);
    env.run("pack", &bad)
        .code(2)
        .stderr_has(&missing)
        .stderr_has("HTTP 404");
    assert!(!env.path("x.tar.zst").exists());
}

#[test]
fn registry_behind_basic_auth_reads_the_auth_file() {
    let env = Env::new();
    let reg = RegistryProcess::start(Some(("puller", "hunter2")));
    let (_, digest) = reg.push_image("ocp/release", "4.16.1-x86_64", "amd64", Some("puller:hunter2"));
    let signer = GpgSigner::new(&env);
    signer.sign_into(
        &env.path("store"),
        &digest,
        1,
        "quay.io/openshift-release-dev/ocp-release:4.16.1-x86_64",
    );
    let keyring = signer.public.to_str().unwrap();
    let tag = format!("{}/ocp/release:4.16.1-x86_64", reg.host);
    let base = [
        "--insecure-registry",
        &reg.host,
        "--store",
        "store",
        "--keyring",
        keyring,
        "--no-sign",
    ];

    let mut args = base.to_vec();
    args.extend(["-o", "a.tar.zst", &tag]);
    env.run_env("pack", &args, &[("HOME", env.path("nohome").to_str().unwrap())])
        .code(2)
        .stderr_has("HTTP 401")
        .stderr_has("--authfile");

    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("puller:hunter2");
    std::fs::write(
        env.path("auth.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host),
    )
    .unwrap();
    let mut args = base.to_vec();
    args.extend(["--authfile", "auth.json", "-o", "b.tar.zst", &tag]);
    env.run("pack", &args).code(0);
    assert_eq!(
        packed(&env, "b.tar.zst", keyring),
        [(digest.clone(), vec![tag.clone()])]
    );

    // The default lookup finds $REGISTRY_AUTH_FILE.
    let mut args = base.to_vec();
    args.extend(["-o", "c.tar.zst", &tag]);
    let authfile = env.path("auth.json");
    env.run_env("pack", &args, &[("REGISTRY_AUTH_FILE", authfile.to_str().unwrap())])
        .code(0);

    // Wrong credentials: refused, and the message says where they came from.
    std::fs::write(
        env.path("bad.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            reg.host,
            base64::engine::general_purpose::STANDARD.encode("puller:nope")
        ),
    )
    .unwrap();
    let mut args = base.to_vec();
    args.extend(["--authfile", "bad.json", "-o", "d.tar.zst", &tag]);
    env.run("pack", &args)
        .code(2)
        .stderr_has("HTTP 401")
        .stderr_has("bad.json");
}

#[test]
fn anonymous_bearer_token_challenge_is_answered() {
    let env = Env::new();
    let root = env.path("reg");
    let manifest_path = root.join("v2/ocp/release/manifests/4.15.0-x86_64");
    std::fs::create_dir_all(manifest_path.parent().unwrap()).unwrap();
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    std::fs::write(&manifest_path, manifest).unwrap();
    let digest = {
        use sha2::Digest;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(manifest)))
    };
    let server = StoreServer::serve(&root);
    *server.faults.bearer_token.lock().unwrap() = Some("t0k3n".into());
    let host = server.url.trim_start_matches("http://").to_string();
    let signer = GpgSigner::new(&env);
    signer.sign_into(
        &env.path("store"),
        &digest,
        1,
        "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64",
    );
    let keyring = signer.public.to_str().unwrap();
    let tag = format!("{host}/ocp/release:4.15.0-x86_64");
    env.run(
        "pack",
        &[
            "--insecure-registry",
            &host,
            "--store",
            "store",
            "--keyring",
            keyring,
            "--no-sign",
            "-o",
            "b.tar.zst",
            &tag,
        ],
    )
    .code(0);
    assert_eq!(packed(&env, "b.tar.zst", keyring)[0].0, digest);
    let log = server.requests.lock().unwrap().clone();
    assert!(
        log.iter().any(|r| r.starts_with("/token?")
            && r.contains("service=test-registry")
            && r.contains("scope=repository%3Aocp%2Frelease%3Apull")),
        "{log:?}"
    );
}

/// The digests of the stable-4.13 graph fixture between two versions, computed here from the
/// JSON, independently of sigbundle's own selection.
fn graph_digests(min: (u64, u64, u64), max: (u64, u64, u64)) -> Vec<(String, String)> {
    let g: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("graph/amd64-stable-4.13.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    for n in g["nodes"].as_array().unwrap() {
        let v = n["version"].as_str().unwrap();
        let parts: Vec<u64> = v.split('.').map(|p| p.parse().unwrap()).collect();
        let t = (parts[0], parts[1], parts[2]);
        if t >= min && t <= max {
            let d = n["payload"].as_str().unwrap().split('@').nth(1).unwrap().to_string();
            out.push((v.to_string(), d));
        }
    }
    out.sort();
    out
}

#[test]
fn channel_range_selects_exactly_the_graph_nodes() {
    let env = Env::new();
    let want = graph_digests((4, 13, 0), (4, 13, 3));
    assert_eq!(want.len(), 4, "4.13.0 to 4.13.3: {want:?}");
    let signer = GpgSigner::new(&env);
    for (v, d) in &want {
        signer.sign_into(
            &env.path("store"),
            d,
            1,
            &format!("quay.io/openshift-release-dev/ocp-release:{v}-x86_64"),
        );
    }
    std::fs::create_dir(env.path("graphsrv")).unwrap();
    std::fs::copy(fixture("graph/amd64-stable-4.13.json"), env.path("graphsrv/graph")).unwrap();
    let server = StoreServer::serve(&env.path("graphsrv"));
    let keyring = signer.public.to_str().unwrap();
    let graph_url = format!("{}/graph", server.url);
    env.run(
        "pack",
        &[
            "--graph-url",
            &graph_url,
            "--channel",
            "stable-4.13",
            "--min-version",
            "4.13.0",
            "--max-version",
            "4.13.3",
            "--store",
            "store",
            "--keyring",
            keyring,
            "--no-sign",
            "-o",
            "c.tar.zst",
        ],
    )
    .code(0);
    let got = packed(&env, "c.tar.zst", keyring);
    let mut want_pairs: Vec<(String, Vec<String>)> = want
        .iter()
        .map(|(v, d)| (d.clone(), vec![format!("channel:stable-4.13@{v}")]))
        .collect();
    want_pairs.sort();
    assert_eq!(got, want_pairs);
    let log = server.requests.lock().unwrap().clone();
    assert_eq!(log, ["/graph?channel=stable-4.13&arch=amd64"]);

    // The same from a saved answer, and arch names map to the service's (aarch64 → arm64).
    env.run(
        "pack",
        &[
            "--graph-file",
            fixture("graph/amd64-stable-4.13.json").to_str().unwrap(),
            "--graph-file-arch",
            "amd64",
            "--channel",
            "stable-4.13",
            "--min-version",
            "4.13.0",
            "--max-version",
            "4.13.3",
            "--store",
            "store",
            "--keyring",
            keyring,
            "--no-sign",
            "-o",
            "f.tar.zst",
        ],
    )
    .code(0);
    assert_eq!(packed(&env, "f.tar.zst", keyring), got);
    env.run(
        "pack",
        &[
            "--graph-url",
            &graph_url,
            "--arch",
            "aarch64",
            "--channel",
            "stable-4.13",
            "--store",
            "store",
            "--no-sign",
            "--dry-run",
            "-o",
            "-",
        ],
    );
    assert_eq!(
        server.requests.lock().unwrap().last().unwrap(),
        "/graph?channel=stable-4.13&arch=arm64"
    );
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let env = Env::new();
    let store = fixture("stores/redhat");
    let r = env.run(
        "pack",
        &[
            "--store",
            store.to_str().unwrap(),
            "--no-sign",
            "--dry-run",
            "-o",
            "b.tar.zst",
            RH_4_15_0,
            RH_4_10_18,
        ],
    );
    r.code(0)
        .stdout_has(RH_4_15_0)
        .stdout_has("valid")
        .stderr_has("nothing written");
    assert!(env.ls(".").is_empty());
    let graph = fixture("graph/amd64-stable-4.13.json");
    let r = env.run(
        "pack",
        &[
            "--graph-file",
            graph.to_str().unwrap(),
            "--graph-file-arch",
            "amd64",
            "--channel",
            "stable-4.13",
            "--max-version",
            "4.12.2",
            "--store",
            store.to_str().unwrap(),
            "--no-sign",
            "--dry-run",
            "--json",
            "-o",
            "x",
        ],
    );
    r.code(1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let want = graph_digests((0, 0, 0), (4, 12, 2));
    assert_eq!(v["missing"].as_array().unwrap().len(), want.len());
    assert!(env.ls(".").is_empty());
}

#[test]
fn list_file_with_comments_and_duplicates_collapses_to_digests() {
    let env = Env::new();
    let store = fixture("stores/redhat");
    let list = format!(
        "# releases to carry\n\n{RH_4_15_0}\nquay.io/openshift-release-dev/ocp-release@{RH_4_15_0}   # same digest, another name\n{RH_4_10_18}\n{RH_4_15_0}\n"
    );
    std::fs::write(env.path("list.txt"), list).unwrap();
    env.run(
        "pack",
        &[
            "--store",
            store.to_str().unwrap(),
            "--no-sign",
            "--from-file",
            "list.txt",
            "-o",
            "b.tar.zst",
        ],
    )
    .code(0);
    let r = env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let rel = v["releases"].as_array().unwrap();
    assert_eq!(rel.len(), 2);
    let names: Vec<&str> = rel.iter().find(|r| r["digest"] == RH_4_15_0).unwrap()["requested"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    // Sorted and de-duplicated, as the manifest records them.
    assert_eq!(
        names,
        [
            format!("quay.io/openshift-release-dev/ocp-release@{RH_4_15_0}"),
            RH_4_15_0.to_string()
        ]
    );
    std::fs::write(env.path("bad.txt"), "# ok\nnot-a-release\n").unwrap();
    env.run(
        "pack",
        &[
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "--from-file",
            "bad.txt",
            "-o",
            "c",
        ],
    )
    .code(2)
    .stderr_has("bad.txt:2")
    .stderr_has("not-a-release");
}

#[test]
fn output_to_stdout_is_a_valid_bundle_and_json_summary() {
    let env = Env::new();
    let store = fixture("stores/redhat");
    let r = env.run(
        "pack",
        &["--store", store.to_str().unwrap(), "--no-sign", "-o", "-", RH_4_15_46],
    );
    r.code(0);
    std::fs::write(env.path("from-stdout.tar.zst"), &r.raw_stdout).unwrap();
    env.run("unpack", &["verify", "from-stdout.tar.zst", "--allow-unsigned"])
        .code(0)
        .stdout_has(RH_4_15_46);
    let r = env.run(
        "pack",
        &[
            "--store",
            store.to_str().unwrap(),
            "--no-sign",
            "--json",
            "-o",
            "j.tar.zst",
            RH_4_15_46,
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["releases"], 1);
    assert_eq!(v["signatures"], 1);
    let bytes = std::fs::read(env.path("j.tar.zst")).unwrap();
    use sha2::Digest;
    assert_eq!(v["bundle"]["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(v["bundle"]["bytes"], bytes.len());
    assert_eq!(v["bundle"]["path"], "j.tar.zst");
    assert_eq!(v["bundle"]["receipt"], "j.tar.zst.receipt.json");
}

fn http_pack(env: &Env, url: &str, extra: &[&str]) -> Run {
    // --force: a run that packed leaves b.tar.zst, and the output is checked before fetching.
    let mut args = vec!["--store", url, "--no-sign", "--force", "-o", "b.tar.zst"];
    args.extend(extra);
    args.push(RH_4_15_0);
    env.run("pack", &args)
}

#[test]
fn latency_and_connection_resets_are_survived() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    server.faults.delay_ms.store(150, Ordering::SeqCst);
    server.faults.reset_first.store(2, Ordering::SeqCst);
    http_pack(&env, &server.url, &[]).code(0);
    assert_eq!(server.request_count(), 4, "two resets retried, then signature-1 and -2");
}

#[test]
fn a_stall_past_the_timeout_is_retried_then_reported() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    server.faults.delay_ms.store(3000, Ordering::SeqCst);
    let r = http_pack(&env, &server.url, &["--timeout", "1", "--retries", "1"]);
    r.code(2).stderr_has(&server.url).stderr_has("signature-1");
    assert!(
        r.stderr.contains("timed out") || r.stderr.contains("timeout"),
        "{}",
        r.stderr
    );
    assert_eq!(server.request_count(), 2);
    assert!(!env.path("b.tar.zst").exists());
}

#[test]
fn a_truncated_body_is_retried_then_reported() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    server.faults.truncate.store(true, Ordering::SeqCst);
    http_pack(&env, &server.url, &["--retries", "2"])
        .code(2)
        .stderr_has("signature-1");
    assert_eq!(server.request_count(), 3);
    assert!(!env.path("b.tar.zst").exists());
}

/// The cluster stops at the first valid signature and never asks for the rest; a store that
/// fails for a later one must not fail the release: what verified is kept, the failure is a
/// warning naming the store and file, and the manifest records it.
#[test]
fn a_store_failing_after_a_valid_signature_keeps_what_verified() {
    const ALBO: &str = "sha256:50b9402635dd4b312a86bed05dcdbda8c00120d3789ec2e9b527045100b3bdb4";
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat-more"));
    for (suffix, status) in [("signature-3", 503), ("signature-2", 403)] {
        *server.faults.status_for_suffix.lock().unwrap() = Some((suffix.to_string(), status));
        let out = format!("{suffix}.tar");
        env.run(
            "pack",
            &[
                "--store",
                &server.url,
                "--no-sign",
                "--retries",
                "0",
                "--compression",
                "none",
                "-o",
                &out,
                ALBO,
            ],
        )
        .code(0)
        .stderr_has(&format!("warning: {}/sha256=", server.url))
        .stderr_has(&format!("{suffix}: HTTP {status}; kept the signatures that verified"));
        let members = tar_members(&std::fs::read(env.path(&out)).unwrap());
        let manifest: serde_json::Value = serde_json::from_slice(&members[0].1).unwrap();
        let release = &manifest["releases"][0];
        assert_eq!(release["signatures"].as_array().unwrap().len(), 3, "{release}");
        let incomplete = release["incomplete"].as_array().unwrap();
        assert_eq!(incomplete.len(), 1, "{release}");
        assert!(
            incomplete[0].as_str().unwrap().contains(&format!("{suffix}: ")),
            "{release}"
        );
        assert!(
            incomplete[0].as_str().unwrap().contains(&status.to_string()),
            "{release}"
        );
    }
    // Every request failing is still a store failure (exit 2), as before.
    *server.faults.status_for_suffix.lock().unwrap() = None;
    server.faults.always_status.store(503, Ordering::SeqCst);
    env.run(
        "pack",
        &[
            "--store",
            &server.url,
            "--no-sign",
            "--retries",
            "0",
            "-o",
            "x.tar",
            ALBO,
        ],
    )
    .code(2)
    .stderr_has("HTTP 503");
}

/// The cluster reads a store's answer whole: a valid signature behind 60,000 bytes of packets it
/// skips is valid, and sigbundle carries exactly those bytes.
#[test]
fn a_body_over_50_kib_that_the_cluster_accepts_is_carried() {
    let env = Env::new();
    let sig = rh_signature(RH_4_15_0);
    let mut body = vec![0xca, 0xff]; // a marker packet (tag 10), 4-byte length: Go skips it
    body.extend_from_slice(&60_000u32.to_be_bytes());
    body.extend(std::iter::repeat_n(0u8, 60_000));
    body.extend_from_slice(&sig);
    env.write_store("padded", &[(RH_4_15_0, &body)]);
    let server = StoreServer::serve(&env.path("padded"));
    env.run(
        "pack",
        &[
            "--store",
            &server.url,
            "--no-sign",
            "--compression",
            "none",
            "-o",
            "p.tar",
            RH_4_15_0,
        ],
    )
    .code(0);
    let members = tar_members(&std::fs::read(env.path("p.tar")).unwrap());
    let carried = members.iter().find(|(n, _)| n.ends_with("signature-1")).unwrap();
    assert_eq!(carried.1, body);
}

#[test]
fn an_oversized_body_is_refused_not_truncated() {
    let env = Env::new();
    let hex = &RH_4_15_0[7..];
    let dir = env
        .write_store("big", &[(RH_4_15_0, &vec![0xa3; 262_145])])
        .join(format!("sha256={hex}"));
    let server = StoreServer::serve(&env.path("big"));
    http_pack(&env, &server.url, &[])
        .code(2)
        .stderr_has("larger than 262144 bytes");
    // Not retried; the search goes on to signature-2 (a 404), as the cluster's does.
    assert_eq!(server.request_count(), 2, "not retried");
    http_pack(&env, "big", &[])
        .code(2)
        .stderr_has("larger than 262144 bytes");
    std::fs::write(dir.join("signature-1"), vec![0xa3; 262_144]).unwrap();
    // Exactly at the limit is read (and then judged: these bytes are no signature).
    http_pack(&env, "big", &[]).code(1).stderr_has("bad-signature");
}

#[test]
fn redirects_are_followed_only_to_the_same_host_or_https() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    *server.faults.redirect_to.lock().unwrap() = Some(server.url.clone());
    http_pack(&env, &format!("{}/old", server.url), &[]).code(0);

    let other = StoreServer::serve(&fixture("stores/redhat"));
    let port = other.url.rsplit(':').next().unwrap();
    *server.faults.redirect_to.lock().unwrap() = Some(format!("http://localhost:{port}"));
    http_pack(&env, &format!("{}/old", server.url), &[])
        .code(2)
        .stderr_has("refusing redirect");
    assert_eq!(other.request_count(), 0);

    *server.faults.redirect_to.lock().unwrap() = Some(format!("{}/old", server.url));
    http_pack(&env, &format!("{}/old", server.url), &[])
        .code(2)
        .stderr_has("too many redirects");
}

#[test]
fn a_404_on_signature_1_is_a_missing_signature_and_403_is_not_retried() {
    let env = Env::new();
    let server = StoreServer::serve(&env.path("."));
    http_pack(&env, &server.url, &[])
        .code(1)
        .stderr_has("no signature in any store");
    let server = StoreServer::serve(&fixture("stores/redhat"));
    server.faults.always_status.store(403, Ordering::SeqCst);
    http_pack(&env, &server.url, &[]).code(2).stderr_has("HTTP 403");
    // Like the cluster, the search goes on past a failed request (to signature-9), but no
    // request is repeated.
    let asked = server.requests.lock().unwrap().clone();
    assert_eq!(asked.len(), 9, "{asked:?}");
    assert_eq!(
        asked.iter().collect::<std::collections::BTreeSet<_>>().len(),
        9,
        "{asked:?}"
    );
}

#[test]
fn a_failing_store_falls_through_to_the_next() {
    let env = Env::new();
    let dead = StoreServer::serve(&fixture("stores/redhat"));
    dead.faults.always_status.store(500, Ordering::SeqCst);
    let good = fixture("stores/redhat");
    let r = env.run(
        "pack",
        &[
            "--store",
            &dead.url,
            "--store",
            good.to_str().unwrap(),
            "--retries",
            "0",
            "--no-sign",
            "-o",
            "b.tar.zst",
            RH_4_15_0,
        ],
    );
    r.code(0).stderr_has("1 valid signature(s) from");
    env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned"]).code(0);
}

#[test]
fn help_shows_an_example_for_each_input_kind() {
    let env = Env::new();
    let r = env.run("pack", &["--help"]);
    r.code(0);
    insta::assert_snapshot!("pack_help", r.stdout);
    let r = env.run("unpack", &["--help"]);
    r.code(0);
    insta::assert_snapshot!("unpack_help", r.stdout);
}

#[test]
fn a_body_that_stalls_after_the_headers_times_out() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    server.faults.slow_body_ms.store(3000, Ordering::SeqCst);
    let r = http_pack(&env, &server.url, &["--timeout", "1", "--retries", "1"]);
    r.code(2).stderr_has(&server.url);
    assert_eq!(server.request_count(), 2, "retried once");
    assert!(!env.path("b.tar.zst").exists());
}

#[test]
fn all_stores_collects_everywhere_and_keeps_identical_signatures_once() {
    let env = Env::new();
    let b = env.write_store("b", &[(RH_4_15_0, &rh_signature(RH_4_15_0))]);
    let signer = GpgSigner::new(&env);
    signer.sign_into(
        &b,
        RH_4_15_0,
        2,
        "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64",
    );
    let a = fixture("stores/redhat");
    let rh_key = fixture("keys/redhat-release-key-2.asc");
    let keys = [
        "--keyring",
        rh_key.to_str().unwrap(),
        "--keyring",
        signer.public.to_str().unwrap(),
    ];
    let mut args = vec![
        "--store",
        a.to_str().unwrap(),
        "--store",
        "b",
        "--no-sign",
        "-o",
        "first.tar",
    ];
    args.extend(keys);
    args.push(RH_4_15_0);
    env.run("pack", &args).code(0).stderr_has("1 valid signature(s)");
    args[6] = "all.tar";
    args.push("--all-stores");
    env.run("pack", &args).code(0).stderr_has("2 valid signature(s)");
    let r = env.run(
        "unpack",
        &[
            "verify",
            "all.tar",
            "--allow-unsigned",
            "--keyring",
            rh_key.to_str().unwrap(),
            "--keyring",
            signer.public.to_str().unwrap(),
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let sigs = v["releases"][0]["signatures"].as_array().unwrap();
    assert_eq!(
        sigs.len(),
        2,
        "the Red Hat signature from both stores is kept once, plus the second"
    );
    assert_eq!(sigs[0]["signer_cert"], "567E347AD0044ADE55BA8A5F199E2F91FD431D51");
}

#[test]
fn registry_and_update_service_failures_are_named() {
    let env = Env::new();
    // A registry that refuses every manifest type: 406, named with a hint.
    let reg = StoreServer::serve(&env.path("."));
    reg.faults.always_status.store(406, Ordering::SeqCst);
    let host = reg.url.trim_start_matches("http://").to_string();
    let tag = format!("{host}/ocp/release:4.15.0-x86_64");
    env.run(
        "pack",
        &[
            "--insecure-registry",
            &host,
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "-o",
            "b",
            &tag,
        ],
    )
    .code(2)
    .stderr_has("HTTP 406")
    .stderr_has("refused every manifest type");
    // A token the registry no longer accepts: 401 after the challenge was answered.
    let root = env.path("reg");
    std::fs::create_dir_all(root.join("v2/ocp/release/manifests")).unwrap();
    std::fs::write(root.join("v2/ocp/release/manifests/4.15.0-x86_64"), b"{}").unwrap();
    let gate = StoreServer::serve(&root);
    *gate.faults.bearer_token.lock().unwrap() = Some("fresh".into());
    gate.faults.expired_token.store(true, Ordering::SeqCst);
    let host = gate.url.trim_start_matches("http://").to_string();
    let tag = format!("{host}/ocp/release:4.15.0-x86_64");
    env.run(
        "pack",
        &[
            "--insecure-registry",
            &host,
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "-o",
            "b",
            &tag,
        ],
    )
    .code(2)
    .stderr_has("HTTP 401")
    .stderr_has(&tag);
    // Malformed graph answers, served over HTTP.
    std::fs::create_dir(env.path("g")).unwrap();
    std::fs::write(env.path("g/broken"), b"{\"version\":1,\"nodes\":[").unwrap();
    std::fs::write(
        env.path("g/nopayload"),
        br#"{"version":1,"nodes":[{"version":"4.13.1","metadata":{}}],"edges":[]}"#,
    )
    .unwrap();
    let g = StoreServer::serve(&env.path("g"));
    env.run(
        "pack",
        &[
            "--graph-url",
            &format!("{}/broken", g.url),
            "--channel",
            "stable-4.13",
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "-o",
            "b",
        ],
    )
    .code(2)
    .stderr_has("update graph for channel stable-4.13")
    .stderr_has("not a graph");
    env.run(
        "pack",
        &[
            "--graph-url",
            &format!("{}/nopayload", g.url),
            "--channel",
            "stable-4.13",
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "-o",
            "b",
        ],
    )
    .code(2)
    .stderr_has("node 4.13.1 has no payload");
    env.run(
        "pack",
        &[
            "--graph-url",
            &format!("{}/absent", g.url),
            "--channel",
            "stable-4.13",
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "-o",
            "b",
        ],
    )
    .code(2)
    .stderr_has("HTTP 404");
    assert!(!env.path("b").exists());
}

/// A store folder that does not exist, or the folder above a store, is a usage error naming
/// the path (not "no signature" for every release), found before anything is fetched.
#[test]
fn a_store_folder_that_is_not_a_store_is_a_usage_error() {
    let env = Env::new();
    let r = env.run(
        "pack",
        &["--store", "no/such/dir", "--no-sign", "-o", "b.tar.zst", RH_4_15_0],
    );
    r.code(2)
        .stderr_has("store no/such/dir: cannot read it: No such file or directory");
    let parent = fixture("stores");
    let r = env.run(
        "pack",
        &[
            "--store",
            parent.to_str().unwrap(),
            "--no-sign",
            "-o",
            "b.tar.zst",
            RH_4_15_0,
        ],
    );
    r.code(2)
        .stderr_has("not a signature store (no sha256=<digest> folders);")
        .stderr_has("stores/openshift-ci is one");
    std::fs::create_dir(env.path("empty")).unwrap();
    env.run("pack", &["--store", "empty", "--no-sign", "-o", "b.tar.zst", RH_4_15_0])
        .code(2)
        .stderr_has("store empty: not a signature store");
    assert!(!env.path("b.tar.zst").exists());
}

/// `pack -o -` on a terminal would write raw zstd into it: refused before anything is fetched.
#[test]
fn pack_to_stdout_refuses_a_terminal() {
    let env = Env::new();
    let store = fixture("stores/redhat");
    let text = in_terminal(
        &env,
        "pack",
        &format!("--store {} --no-sign -o - {RH_4_15_0}", store.display()),
    );
    assert!(
        text.contains("pack: error: -o - writes a binary bundle; redirect stdout"),
        "{text}"
    );
    assert!(text.contains("EXIT=2"), "{text}");
}

/// A bare 64-hex digest, or an uppercase one, is refused (registries and stores compare
/// digests as strings) with the digest that was meant.
#[test]
fn a_near_miss_digest_says_what_was_meant() {
    let env = Env::new();
    let hex = &RH_4_15_0[7..];
    let upper = hex.to_uppercase();
    let cases = [
        (
            hex.to_string(),
            format!("must start with \"sha256:\"; did you mean {RH_4_15_0}?"),
        ),
        (
            format!("sha256:{upper}"),
            format!("must be lowercase; did you mean {RH_4_15_0}?"),
        ),
        (
            format!("quay.io/openshift-release-dev/ocp-release@sha256:{upper}"),
            format!("did you mean quay.io/openshift-release-dev/ocp-release@{RH_4_15_0}?"),
        ),
    ];
    for (input, hint) in cases {
        env.run(
            "pack",
            &["--store", REDHAT_STORE, "--no-sign", "-o", "b.tar.zst", &input],
        )
        .code(2)
        .stderr_has(&hint);
    }
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    env.run("unpack", &["emit", "b.tar.zst", "--allow-unsigned", "--signature", hex])
        .code(2)
        .stderr_has(&format!("did you mean {RH_4_15_0}?"));
}

/// A saved graph answer records neither its channel nor its architecture: the channel is
/// checked against the nodes' channel lists, the architecture must be said and match --arch,
/// and versions resolve from the file's nodes, not from the registry.
#[test]
fn a_graph_file_is_checked_against_the_channel_and_arch_asked_for() {
    let env = Env::new();
    let graph = fixture("graph/amd64-stable-4.13.json");
    let graph = graph.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--graph-file",
            graph,
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "--dry-run",
            "--json",
            "-o",
            "x",
        ];
        args.extend(extra);
        env.run("pack", &args)
    };
    run(&["--channel", "stable-4.13"])
        .code(2)
        .stderr_has("say which architecture it was saved for with --graph-file-arch");
    run(&[
        "--graph-file-arch",
        "amd64",
        "--arch",
        "s390x",
        "--channel",
        "stable-4.13",
    ])
    .code(2)
    .stderr_has("saved for architecture amd64, but s390x is asked for (by --arch");
    run(&["--graph-file-arch", "amd64", "--channel", "fast-4.99"])
        .code(2)
        .stderr_has("update graph for channel fast-4.99")
        .stderr_has("not saved for this channel: release 4.12.20 is not in it (it is in candidate-4.12,");
    // x86_64 is amd64 in the service's names: both checks pass and the plan is made (exit 1:
    // the fixture store holds no signature of those releases).
    run(&[
        "--graph-file-arch",
        "x86_64",
        "--channel",
        "stable-4.13",
        "--max-version",
        "4.12.2",
    ])
    .code(1)
    .stderr_has("no valid signature");

    // Versions from the file's nodes: no registry is configured or reached.
    let want = graph_digests((4, 13, 0), (4, 13, 0));
    // (exit 1: the fixture store holds no signature of it; the JSON still names it).
    let r = run(&["--graph-file-arch", "amd64", "4.13.0"]);
    r.code(1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["missing"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["missing"][0]["digest"].as_str(), Some(want[0].1.as_str()), "{v}");
    run(&["--graph-file-arch", "amd64", "4.99.1"])
        .code(2)
        .stderr_has("version 4.99.1: graph file")
        .stderr_has("not a release in it");
    run(&["--graph-file-arch", "amd64", "--arch", "aarch64", "4.13.0"])
        .code(2)
        .stderr_has("saved for architecture amd64, but arm64 is asked for (by --arch");

    // A graph without channel metadata cannot be checked, and is not trusted to be the channel.
    std::fs::write(
        env.path("bare.json"),
        format!(r#"{{"nodes":[{{"version":"4.15.0","payload":"quay.io/openshift-release-dev/ocp-release@{RH_4_15_0}"}}],"edges":[]}}"#),
    )
    .unwrap();
    env.run(
        "pack",
        &[
            "--graph-file",
            "bare.json",
            "--graph-file-arch",
            "amd64",
            "--channel",
            "stable-4.15",
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "--dry-run",
            "-o",
            "x",
        ],
    )
    .code(2)
    .stderr_has("carries no io.openshift.upgrades.graph.release.channels metadata");
}

/// The output is checked before anything is resolved or fetched: an existing file (without
/// --force) or a folder that does not exist fails at once, naming the destination and never a
/// temporary file; a dry run needs neither -o nor a signing choice, and its JSON has no
/// placeholder for the bundle it did not write.
#[test]
fn the_output_is_checked_first_and_a_dry_run_needs_none() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    std::fs::write(env.path("taken.tar.zst"), b"x").unwrap();
    for (out, want) in [
        ("taken.tar.zst", "taken.tar.zst exists; pass --force to replace it"),
        (
            "nodir/b.tar.zst",
            "cannot write nodir/b.tar.zst: No such file or directory (os error 2)",
        ),
    ] {
        let r = env.run("pack", &["--store", &server.url, "--no-sign", "-o", out, RH_4_15_0]);
        r.code(2).stderr_has(want);
        assert!(!r.stderr.contains(".tmp"), "{}", r.stderr);
    }
    assert_eq!(server.request_count(), 0, "nothing fetched");
    let r = env.run("pack", &["--store", &server.url, "--dry-run", "--json", RH_4_15_0]);
    r.code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["bundle"].is_null(), "{v}");
    assert_eq!(v["plan"][0]["digest"], RH_4_15_0);
    env.run("pack", &["--store", &server.url, RH_4_15_0])
        .code(2)
        .stderr_has("choose --sign-key FILE (your packer key) or --no-sign");
    env.run("pack", &["--store", &server.url, "--no-sign", RH_4_15_0])
        .code(2)
        .stderr_has("-o FILE is required");
}

/// Many missing releases: each is said once (its progress line, or with -q a line before the
/// error), the error counts them in one line, and --json still prints its document, with every
/// missing release and its reason, before exiting 1.
#[test]
fn missing_releases_are_said_once_and_counted() {
    let env = Env::new();
    let absent: Vec<String> = (1..=5)
        .map(|i| format!("sha256:{}", format!("{i:x}").repeat(64)))
        .collect();
    let mut args = vec!["--store", REDHAT_STORE, "--no-sign", "-o", "b.tar.zst", RH_4_15_0];
    args.extend(absent.iter().map(String::as_str));
    let r = env.run("pack", &args);
    r.code(1)
        .stderr_has("pack: error: 5 of 6 release(s) have no valid signature; nothing written");
    for d in &absent {
        assert_eq!(r.stderr.matches(d.as_str()).count(), 1, "{d} said once:\n{}", r.stderr);
    }
    let error_line = r.stderr.lines().find(|l| l.starts_with("pack: error:")).unwrap();
    assert!(error_line.len() < 120, "{error_line}");

    let mut quiet = args.clone();
    quiet.push("-q");
    let r = env.run("pack", &quiet);
    r.code(1);
    for d in &absent {
        assert_eq!(
            r.stderr
                .matches(&format!("missing: {d} (no signature in any store)"))
                .count(),
            1,
            "{}",
            r.stderr
        );
    }

    let mut json = args.clone();
    json.push("--json");
    let r = env.run("pack", &json);
    r.code(1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["missing"].as_array().unwrap().len(), 5);
    assert_eq!(v["missing"][0]["reason"], "no signature in any store");
    assert_eq!(v["missing"][0]["refused_signatures"], 0);
    assert!(!env.path("b.tar.zst").exists());
}
