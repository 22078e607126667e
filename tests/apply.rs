//! `unpack apply` through the real binary against a loopback HTTPS server speaking the
//! Kubernetes API for ConfigMaps (tests/common/kubeapi.rs).

mod common;

use std::sync::atomic::Ordering;

use common::kubeapi::KubeApi;
use common::*;

fn setup() -> (Env, KubeApi) {
    let env = Env::new();
    let api = env.cluster();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    (env, api)
}

fn apply(env: &Env, extra: &[&str]) -> Run {
    let mut args = vec!["apply", "b.tar.zst", "--allow-unsigned", "--kubeconfig", "kubeconfig"];
    args.extend(extra);
    env.run("unpack", &args)
}

fn name(d: &str) -> String {
    format!("sha256-{}", &d[7..])
}

fn key(d: &str, n: usize) -> String {
    format!("sha256-{}-{n}", &d[7..])
}

fn patches(api: &KubeApi) -> Vec<String> {
    api.state
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("PATCH"))
        .cloned()
        .collect()
}

#[test]
fn apply_creates_reads_back_and_is_then_unchanged() {
    let (env, api) = setup();
    let r = apply(&env, &[]);
    r.code(0)
        .stdout_has("created")
        .stderr_has("read back and checked")
        .stderr_has(&api.url);
    for d in RH_ALL {
        assert_eq!(api.bytes(&name(d), &key(d, 1)).unwrap(), rh_signature(d));
        let objs = api.state.objects.lock().unwrap();
        let o = &objs[&name(d)];
        assert_eq!(
            o["metadata"]["labels"]["release.openshift.io/verification-signatures"],
            ""
        );
        assert_eq!(o["metadata"]["annotations"]["sigbundle.io/packer"], "unsigned");
        assert_eq!(
            o["metadata"]["annotations"]["sigbundle.io/packed-at"],
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            o["metadata"]["annotations"]["sigbundle.io/bundle-sha256"]
                .as_str()
                .unwrap()
                .len(),
            64
        );
    }
    let log = api.state.log.lock().unwrap().clone();
    assert!(
        log[0].starts_with("GET /api/v1/namespaces/openshift-config-managed/configmaps?")
            && log[0].contains("labelSelector=release.openshift.io"),
        "{log:?}"
    );
    let p = patches(&api);
    assert_eq!(p.len(), 3);
    assert!(
        p.iter()
            .all(|l| l.contains("fieldManager=sigbundle") && !l.contains("force=true") && !l.contains("dryRun")),
        "{p:?}"
    );
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("GET /api/v1/namespaces/openshift-config-managed/configmaps/"))
            .count(),
        3,
        "read back"
    );

    apply(&env, &[]).code(0).stdout_has("unchanged");
    assert_eq!(patches(&api).len(), 3, "nothing patched the second time");
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["action"], "apply");
    assert_eq!(rec["destination"]["kind"], "cluster");
    assert_eq!(rec["destination"]["server"], api.url.as_str());
    assert_eq!(rec["destination"]["context"], "admin");
    assert_eq!(rec["destination"]["user"], "admin-user");
}

#[test]
fn dry_run_asks_the_server_and_stores_nothing() {
    let (env, api) = setup();
    apply(&env, &["--dry-run"])
        .code(0)
        .stdout_has("would create")
        .stderr_has("server dry run");
    assert!(api.state.objects.lock().unwrap().is_empty());
    let p = patches(&api);
    assert_eq!(p.len(), 3);
    assert!(p.iter().all(|l| l.contains("dryRun=All")), "{p:?}");
    let r = apply(&env, &["--dry-run", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["items"][0]["action"], "create");
}

#[test]
fn a_key_with_other_bytes_is_a_conflict_left_alone_unless_forced() {
    let (env, api) = setup();
    api.seed(
        &name(RH_4_15_0),
        &[(&key(RH_4_15_0, 1), b"someone else's bytes")],
        "kubectl-client-side-apply",
    );
    let r = apply(&env, &[]);
    r.code(1)
        .stdout_has("CONFLICT")
        .stdout_has(&key(RH_4_15_0, 1))
        .stderr_has("--force-conflicts");
    assert_eq!(
        api.bytes(&name(RH_4_15_0), &key(RH_4_15_0, 1)).unwrap(),
        b"someone else's bytes"
    );
    assert_eq!(
        api.bytes(&name(RH_4_10_18), &key(RH_4_10_18, 1)).unwrap(),
        rh_signature(RH_4_10_18),
        "the others were applied"
    );
    assert_eq!(env.audit_records().last().unwrap()["outcome"], "conflict");

    apply(&env, &["--force-conflicts"]).code(0).stdout_has("forced");
    assert_eq!(
        api.bytes(&name(RH_4_15_0), &key(RH_4_15_0, 1)).unwrap(),
        rh_signature(RH_4_15_0)
    );
    assert!(patches(&api).last().unwrap().contains("force=true"));
}

#[test]
fn keys_written_by_others_are_never_removed() {
    let (env, api) = setup();
    api.seed(
        &name(RH_4_15_46),
        &[(&key(RH_4_15_46, 2), b"a second signature from elsewhere")],
        "oc",
    );
    apply(&env, &[])
        .code(0)
        .stdout_has(&format!("updated      configmap/{}", name(RH_4_15_46)));
    assert_eq!(
        api.bytes(&name(RH_4_15_46), &key(RH_4_15_46, 1)).unwrap(),
        rh_signature(RH_4_15_46)
    );
    assert_eq!(
        api.bytes(&name(RH_4_15_46), &key(RH_4_15_46, 2)).unwrap(),
        b"a second signature from elsewhere"
    );
}

#[test]
fn forbidden_names_the_cluster_the_object_and_the_missing_permission() {
    let (env, api) = setup();
    api.state.forbid_patch.store(true, Ordering::SeqCst);
    let r = apply(&env, &[]);
    r.code(2)
        .stderr_has(&api.url)
        .stderr_has("HTTP 403")
        .stderr_has("configmap sha256-")
        .stderr_has("cannot patch resource \"configmaps\"")
        .stderr_has("needs permission to patch configmaps in namespace openshift-config-managed");
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["outcome"], "failed");
}

#[test]
fn refused_credentials_server_errors_and_bad_read_back_are_reported() {
    let (env, api) = setup();
    apply(&env, &["--context", "nobody"])
        .code(2)
        .stderr_has("HTTP 401")
        .stderr_has("refused the credentials");
    api.state.fail_list.store(1, Ordering::SeqCst);
    apply(&env, &[])
        .code(2)
        .stderr_has("HTTP 500")
        .stderr_has("list configmaps");
    api.state.corrupt_writes.store(true, Ordering::SeqCst);
    apply(&env, &[]).code(2).stderr_has("read-back of configmap");
}

#[test]
fn kubeconfig_comes_from_the_environment_like_kubectl() {
    let (env, api) = setup();
    let kc = env.path("kubeconfig");
    env.run_env(
        "unpack",
        &["apply", "b.tar.zst", "--allow-unsigned"],
        &[("KUBECONFIG", kc.to_str().unwrap())],
    )
    .code(0);
    assert_eq!(api.state.objects.lock().unwrap().len(), 3);
}

#[test]
fn a_refused_bundle_never_reaches_the_cluster() {
    let (env, api) = setup();
    let mut bytes = std::fs::read(env.path("b.tar.zst")).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0xff;
    std::fs::write(env.path("b.tar.zst"), bytes).unwrap();
    apply(&env, &[]).code(1);
    assert!(api.state.log.lock().unwrap().is_empty(), "no request reached the API");
    let recs = env.audit_records();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["outcome"], "refused");
    assert_eq!(recs[0]["action"], "apply");
}
