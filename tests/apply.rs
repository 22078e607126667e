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

    // Every request says who sends it, and applies as apply patches.
    for r in requests(&api) {
        assert_eq!(
            r.user_agent,
            format!("sigbundle/{}", env!("CARGO_PKG_VERSION")),
            "{r:?}"
        );
        if r.method == "PATCH" {
            assert_eq!(r.content_type, "application/apply-patch+yaml");
        }
    }
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
    // A valid token without any RBAC grant: the LIST is refused first.
    let r = apply(&env, &["--context", "nobody"]);
    r.code(2)
        .stderr_has(&api.url)
        .stderr_has("HTTP 403")
        .stderr_has("list configmaps -l release.openshift.io/verification-signatures")
        .stderr_has("User \"nobody\" cannot list resource \"configmaps\"")
        .stderr_has("user nobody needs permission to list configmaps in namespace openshift-config-managed");
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["outcome"], "failed");
    // Requests were sent: the failed record says where to, and as whom.
    assert_eq!(rec["destination"]["server"], api.url.as_str());
    assert_eq!(rec["destination"]["context"], "nobody");
    assert_eq!(rec["destination"]["user"], "nobody");

    // May list and get, not patch.
    api.state.grant("nobody", &["get", "list"]);
    apply(&env, &["--context", "nobody"])
        .code(2)
        .stderr_has("apply configmap sha256-")
        .stderr_has("cannot patch resource \"configmaps\"")
        .stderr_has("needs permission to patch configmaps");

    // May patch but not create: server-side apply of a ConfigMap that does not exist yet is a
    // create too, and RBAC says so.
    api.state.grant("nobody", &["get", "list", "patch"]);
    apply(&env, &["--context", "nobody"])
        .code(2)
        .stderr_has("cannot create resource \"configmaps\"")
        .stderr_has("needs permission to create configmaps in namespace openshift-config-managed")
        .stderr_has("get, list, patch and create");
    assert!(api.state.objects.lock().unwrap().is_empty());

    // Everything apply needs.
    api.state.grant("nobody", &["get", "list", "patch", "create"]);
    apply(&env, &["--context", "nobody"]).code(0).stdout_has("created");
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["destination"]["user"], "nobody");
    // Once they exist, patch is enough for an update.
    api.state.grant("nobody", &["get", "list", "patch"]);
    apply(&env, &["--context", "nobody"]).code(0).stdout_has("unchanged");
}

#[test]
fn refused_credentials_server_errors_and_bad_read_back_are_reported() {
    let (env, api) = setup();
    apply(&env, &["--context", "refused"])
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

fn requests(api: &KubeApi) -> Vec<common::kubeapi::Request> {
    api.state.requests.lock().unwrap().clone()
}

#[test]
fn dry_run_server_is_the_bare_dry_run() {
    let (env, api) = setup();
    apply(&env, &["--dry-run=server"])
        .code(0)
        .stdout_has("would create")
        .stderr_has("planned (server dry run)");
    assert!(api.state.objects.lock().unwrap().is_empty());
    assert!(patches(&api).iter().all(|l| l.contains("dryRun=All")));
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["destination"]["dry_run"], true);
    assert_eq!(rec["destination"]["dry_run_mode"], "server");
    assert_eq!(rec["destination"]["server"], api.url.as_str());
    // A real apply records no dry-run mode at all (as before --dry-run=client).
    apply(&env, &[]).code(0);
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["destination"]["dry_run"], false);
    assert!(rec["destination"].get("dry_run_mode").is_none(), "{rec}");
    apply(&env, &["--dry-run=nowhere"]).code(2);
}

#[test]
fn client_dry_run_plans_from_the_bundle_alone() {
    let (env, api) = setup();
    // A kubeconfig that does not exist is never read.
    let args = [
        "apply",
        "b.tar.zst",
        "--allow-unsigned",
        "--kubeconfig",
        "nonexistent",
        "--dry-run=client",
    ];
    let r = env.run("unpack", &args);
    r.code(0)
        .stderr_has("client dry run")
        .stderr_has("no cluster was contacted");
    for d in RH_ALL {
        r.stdout_has(&format!("would apply  configmap/{} ({d}): keys {}", name(d), key(d, 1)));
    }
    assert!(api.state.log.lock().unwrap().is_empty(), "no request");
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["outcome"], "ok");
    assert_eq!(rec["destination"]["kind"], "cluster");
    assert!(rec["destination"].get("server").is_none(), "no server is known: {rec}");
    assert_eq!(rec["destination"]["dry_run"], true);
    assert_eq!(rec["destination"]["dry_run_mode"], "client");
    assert_eq!(rec["destination"]["context"], serde_json::Value::Null);
    assert_eq!(rec["releases"].as_array().unwrap().len(), 3);

    // No kubeconfig anywhere, JSON.
    let r = env.run_no_kubeconfig(
        "unpack",
        &["apply", "b.tar.zst", "--allow-unsigned", "--dry-run=client", "--json"],
    );
    r.code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["server"], serde_json::Value::Null);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["dry_run_mode"], "client");
    assert_eq!(v["items"].as_array().unwrap().len(), 3);
    assert_eq!(v["items"][0]["action"], "apply");
    assert_eq!(v["items"][0]["applied"], false);
    assert_eq!(v["items"][0]["keys"].as_array().unwrap().len(), 1);
    assert!(api.state.log.lock().unwrap().is_empty(), "still no request");
    // Whereas without a kubeconfig, a server dry run cannot start.
    env.run_no_kubeconfig("unpack", &["apply", "b.tar.zst", "--allow-unsigned", "--dry-run"])
        .code(2)
        .stderr_has("cannot load kubeconfig")
        .stderr_has("--server URL and --token TOKEN");
}

#[test]
fn server_and_token_need_no_kubeconfig() {
    let (env, api) = setup();
    let ca = api.ca.to_str().unwrap().to_string();
    let args = [
        "apply",
        "b.tar.zst",
        "--allow-unsigned",
        "--server",
        &api.url,
        "--token",
        common::kubeapi::TOKEN,
        "--certificate-authority",
        &ca,
    ];
    env.run_no_kubeconfig("unpack", &args)
        .code(0)
        .stdout_has("created")
        .stderr_has(&format!("to {} (context -, credentials --token)", api.url));
    assert_eq!(api.state.objects.lock().unwrap().len(), 3);
    assert!(requests(&api).iter().all(|r| r.user.as_deref() == Some("admin")));
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["destination"]["server"], api.url.as_str());
    assert_eq!(rec["destination"]["context"], serde_json::Value::Null);
    assert_eq!(rec["destination"]["user"], serde_json::Value::Null);
    assert_eq!(rec["destination"]["credentials"], "--token");
    assert!(
        !std::fs::read_to_string(env.path("state/sigbundle/audit.log"))
            .unwrap()
            .contains(common::kubeapi::TOKEN),
        "the token is never recorded"
    );

    // Without a CA the server's certificate is not trusted ...
    let no_ca = &args[..7];
    env.run_no_kubeconfig("unpack", no_ca)
        .code(2)
        .stderr_has(&format!("cluster {}", api.url))
        .stderr_has("certificate verify failed")
        .stderr_has("not signed by a CA this context trusts: --certificate-authority FILE");
    // Without a token, nothing authenticates: the anonymous user, and the hint says so.
    let mut anonymous = args.to_vec();
    anonymous.drain(5..7);
    env.run_no_kubeconfig("unpack", &anonymous)
        .code(2)
        .stderr_has("User \"system:anonymous\" cannot list")
        .stderr_has("no credentials were sent: give --token");
    // ... unless its check is skipped.
    let mut insecure = no_ca.to_vec();
    insecure.push("--insecure-skip-tls-verify");
    env.run_no_kubeconfig("unpack", &insecure)
        .code(0)
        .stdout_has("unchanged");
    // The two say opposite things.
    let mut both = args.to_vec();
    both.push("--insecure-skip-tls-verify");
    env.run_no_kubeconfig("unpack", &both)
        .code(2)
        .stderr_has("cannot be used with");
    // A --server that is not a URL, a CA file that is not there or holds no certificate.
    let mut bad = args.to_vec();
    bad[4] = "https://";
    env.run_no_kubeconfig("unpack", &bad)
        .code(2)
        .stderr_has("--server https://: not an API server URL");
    let mut bad = args.to_vec();
    bad[8] = "missing.crt";
    env.run_no_kubeconfig("unpack", &bad)
        .code(2)
        .stderr_has("--certificate-authority missing.crt: cannot read it");
    std::fs::write(env.path("not-a-cert.pem"), "hello").unwrap();
    bad[8] = "not-a-cert.pem";
    env.run_no_kubeconfig("unpack", &bad)
        .code(2)
        .stderr_has("--certificate-authority not-a-cert.pem: holds no PEM certificate");
}

#[test]
fn flags_override_the_context_of_the_kubeconfig() {
    let (env, api) = setup();
    // The kubeconfig names a server where nothing listens; --server corrects it, and the
    // context's CA and credentials are still used.
    api.kubeconfig_for(&env.path("kubeconfig"), "https://127.0.0.1:1");
    apply(&env, &[]).code(2).stderr_has("cluster https://127.0.0.1:1");
    apply(&env, &["--server", &api.url]).code(0).stdout_has("created");
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["destination"]["server"], api.url.as_str());
    assert_eq!(rec["destination"]["context"], "admin");
    assert_eq!(rec["destination"]["user"], "admin-user");
    assert!(rec["destination"].get("credentials").is_none());

    // --token replaces the context user's valid token: refused.
    apply(&env, &["--server", &api.url, "--token", "not-the-token"])
        .code(2)
        .stderr_has("HTTP 401");
    // ... and the refused context's token with a valid one: accepted, recorded as --token.
    apply(
        &env,
        &[
            "--server",
            &api.url,
            "--context",
            "refused",
            "--token",
            common::kubeapi::TOKEN,
        ],
    )
    .code(0)
    .stdout_has("unchanged");
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["destination"]["context"], "refused");
    assert_eq!(rec["destination"]["user"], serde_json::Value::Null);
    assert_eq!(rec["destination"]["credentials"], "--token");
    // A --certificate-authority replaces the context's CA: another CA, the check fails.
    let other = Env::new().cluster();
    apply(
        &env,
        &[
            "--server",
            &api.url,
            "--certificate-authority",
            other.ca.to_str().unwrap(),
        ],
    )
    .code(2)
    .stderr_has("certificate");
    // A context that is not there is named.
    apply(&env, &["--context", "nowhere"])
        .code(2)
        .stderr_has("it has no context named nowhere");
}

#[test]
fn as_user_and_groups_are_sent_as_impersonation_and_recorded() {
    let (env, api) = setup();
    // The impersonated user has no grant: refused as that user.
    apply(
        &env,
        &["--as", "importer", "--as-group", "ops", "--as-group", "signers"],
    )
    .code(2)
    .stderr_has("User \"importer\" cannot list resource \"configmaps\"")
    .stderr_has("user importer needs permission to list configmaps");
    let last = requests(&api).last().unwrap().clone();
    assert_eq!(last.user.as_deref(), Some("admin"));
    assert_eq!(last.impersonate_user.as_deref(), Some("importer"));
    assert_eq!(last.impersonate_groups, ["ops", "signers"]);

    api.state.grant("importer", &["get", "list", "patch", "create"]);
    apply(&env, &["--as", "importer", "--as-group", "ops"])
        .code(0)
        .stdout_has("created")
        .stderr_has("(context admin, user admin-user as importer (groups ops))");
    assert!(requests(&api)
        .iter()
        .skip(1)
        .all(|r| r.impersonate_user.as_deref() == Some("importer") && r.impersonate_groups == ["ops"]));
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["destination"]["user"], "admin-user", "who asked");
    assert_eq!(rec["destination"]["impersonate"], "importer", "who it acted as");
    assert_eq!(rec["destination"]["impersonate_groups"], serde_json::json!(["ops"]));

    // A user who may not impersonate is told so, not told to get configmap rights.
    apply(&env, &["--context", "nobody", "--as", "importer"])
        .code(2)
        .stderr_has("HTTP 403")
        .stderr_has("cannot impersonate resource \"users\"")
        .stderr_has("user nobody may not act as another (--as/--as-group)");
    // Groups alone are not a user to act as.
    apply(&env, &["--as-group", "ops"]).code(2).stderr_has("--as");
}

#[test]
fn a_cluster_without_the_namespace_is_named() {
    let (env, api) = setup();
    api.state.namespace_exists.store(false, Ordering::SeqCst);
    apply(&env, &[])
        .code(2)
        .stderr_has("HTTP 404: namespaces \"openshift-config-managed\" not found")
        .stderr_has("is this an OpenShift cluster?");
    // Said before a missing create permission would be (as kube-apiserver orders them).
    api.state.grant("nobody", &["get", "list", "patch"]);
    apply(&env, &["--context", "nobody"])
        .code(2)
        .stderr_has("HTTP 404: namespaces \"openshift-config-managed\" not found");
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["outcome"], "failed");
    assert_eq!(rec["destination"]["server"], api.url.as_str());
}

#[test]
fn a_conflict_the_list_could_not_see_is_still_a_conflict() {
    let (env, api) = setup();
    // Made by hand without the label: the LIST does not show it, the server's 409 does.
    api.seed(
        &name(RH_4_15_0),
        &[(&key(RH_4_15_0, 1), b"someone else's bytes")],
        "kubectl-create",
    );
    api.unlabel(&name(RH_4_15_0));
    apply(&env, &[])
        .code(1)
        .stdout_has(&format!("CONFLICT     configmap/{}", name(RH_4_15_0)))
        .stdout_has(&format!("{} hold(s) different bytes", key(RH_4_15_0, 1)));
    assert_eq!(env.audit_records().last().unwrap()["outcome"], "conflict");
    assert_eq!(
        api.bytes(&name(RH_4_15_0), &key(RH_4_15_0, 1)).unwrap(),
        b"someone else's bytes"
    );
    apply(&env, &["--force-conflicts"]).code(0);
    assert_eq!(
        api.bytes(&name(RH_4_15_0), &key(RH_4_15_0, 1)).unwrap(),
        rh_signature(RH_4_15_0)
    );
}

#[test]
fn keys_sigbundle_applied_before_are_kept() {
    let (env, api) = setup();
    // An earlier bundle's apply left a second signature under sigbundle's own field manager,
    // and key 1 has gone since (removed by hand). Server-side apply removes what a manager
    // applied before and applies no more: kube-apiserver v1.35 removed key 2 here until
    // sigbundle applied it again as it is.
    let earlier = b"an earlier bundle's second signature";
    api.seed_as(
        &name(RH_4_10_18),
        &[(&key(RH_4_10_18, 2), earlier)],
        "sigbundle",
        "Apply",
    );
    apply(&env, &[])
        .code(0)
        .stdout_has(&format!("updated      configmap/{}", name(RH_4_10_18)));
    assert_eq!(api.bytes(&name(RH_4_10_18), &key(RH_4_10_18, 2)).unwrap(), earlier);
    assert_eq!(
        api.bytes(&name(RH_4_10_18), &key(RH_4_10_18, 1)).unwrap(),
        rh_signature(RH_4_10_18)
    );
    let managers = api.state.managers(&name(RH_4_10_18));
    assert_eq!(managers.len(), 1, "{managers:?}");
    let (m, op, fields) = &managers[0];
    assert_eq!((m.as_str(), op.as_str()), ("sigbundle", "Apply"));
    assert!(fields.contains(&format!(".binaryData.{}", key(RH_4_10_18, 1))));
    assert!(fields.contains(&format!(".binaryData.{}", key(RH_4_10_18, 2))));
}

#[test]
fn the_double_removes_what_a_manager_no_longer_applies_as_the_server_does() {
    // The double itself, as the real server behaved: an apply without a field its manager
    // applied before removes it, unless another manager owns it too.
    let (env, api) = setup();
    api.seed_as(&name(RH_4_10_18), &[(&key(RH_4_10_18, 2), b"x")], "other", "Apply");
    apply(&env, &[]).code(0);
    // "other" applies again without key 2: it goes.
    let body = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name(RH_4_10_18), "namespace": "openshift-config-managed"}});
    let path = format!(
        "/api/v1/namespaces/openshift-config-managed/configmaps/{}?fieldManager=other",
        name(RH_4_10_18)
    );
    let (code, _) = api.request("PATCH", &path, "application/apply-patch+yaml", &body.to_string());
    assert_eq!(code, 200);
    assert_eq!(api.bytes(&name(RH_4_10_18), &key(RH_4_10_18, 2)), None, "removed");
    // The label "other" applied is still owned by sigbundle too: it stays.
    let objs = api.state.objects.lock().unwrap();
    assert_eq!(
        objs[&name(RH_4_10_18)]["metadata"]["labels"]["release.openshift.io/verification-signatures"],
        ""
    );
}

#[test]
fn force_conflicts_in_a_server_dry_run_would_force() {
    let (env, api) = setup();
    api.seed(
        &name(RH_4_15_0),
        &[(&key(RH_4_15_0, 1), b"someone else's bytes")],
        "kubectl-client-side-apply",
    );
    apply(&env, &["--force-conflicts", "--dry-run=server"])
        .code(0)
        .stdout_has(&format!("would force  configmap/{}", name(RH_4_15_0)))
        .stdout_has("would be overwritten (--force-conflicts)");
    assert_eq!(
        api.bytes(&name(RH_4_15_0), &key(RH_4_15_0, 1)).unwrap(),
        b"someone else's bytes"
    );
    let p = patches(&api);
    assert!(
        p.iter()
            .any(|l| l.contains(&name(RH_4_15_0)) && l.contains("force=true") && l.contains("dryRun=All")),
        "{p:?}"
    );
    assert_eq!(env.audit_records().last().unwrap()["outcome"], "ok");
}

#[test]
fn the_double_words_conflicts_as_the_server_does() {
    let (env, api) = setup();
    apply(&env, &[]).code(0);
    api.seed(
        &name(RH_4_15_0),
        &[(&key(RH_4_15_0, 1), b"old")],
        "kubectl-client-side-apply",
    );
    let path = |n: &str| format!("/api/v1/namespaces/openshift-config-managed/configmaps/{n}?fieldManager=third");
    let body = |n: &str, data: serde_json::Value, ann: bool| {
        let mut v = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "openshift-config-managed"}, "binaryData": data});
        if ann {
            v["metadata"]["annotations"] = serde_json::json!({"sigbundle.io/packer": "someone"});
        }
        v.to_string()
    };
    // One conflict with an Update manager: its API version and time are named.
    let n = name(RH_4_15_0);
    let (code, v) = api.request(
        "PATCH",
        &path(&n),
        "application/apply-patch+yaml",
        &body(&n, serde_json::json!({key(RH_4_15_0, 1): "eHg="}), false),
    );
    assert_eq!(code, 409);
    assert_eq!(
        v["message"],
        format!(
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1 at 2025-01-01T00:00:00Z: .binaryData.{}",
            key(RH_4_15_0, 1)
        )
    );
    assert_eq!(v["reason"], "Conflict");
    assert_eq!(v["details"]["causes"][0]["reason"], "FieldManagerConflict");
    // Several with an Apply manager: grouped, one per line (as kube-apiserver v1.35 wrote).
    let n = name(RH_4_10_18);
    let (code, v) = api.request(
        "PATCH",
        &path(&n),
        "application/apply-patch+yaml",
        &body(&n, serde_json::json!({key(RH_4_10_18, 1): "eHg="}), true),
    );
    assert_eq!(code, 409);
    assert_eq!(
        v["message"],
        format!(
            "Apply failed with 2 conflicts: conflicts with \"sigbundle\":\n- .binaryData.{}\n- .metadata.annotations.sigbundle.io/packer",
            key(RH_4_10_18, 1)
        )
    );
    // What else the real server answered: JSON patches are not apply (415), apply needs a
    // field manager (422), dryRun takes only All (422).
    let (code, v) = api.request(
        "PATCH",
        &path(&n),
        "application/json",
        &body(&n, serde_json::json!({}), false),
    );
    assert_eq!(
        (code, v["message"].as_str().unwrap()),
        (415, "415: Unsupported Media Type")
    );
    let no_manager = path(&n).replace("?fieldManager=third", "");
    let (code, v) = api.request(
        "PATCH",
        &no_manager,
        "application/apply-patch+yaml",
        &body(&n, serde_json::json!({}), false),
    );
    assert_eq!(code, 422);
    assert!(v["message"].as_str().unwrap().contains("fieldManager: Required value"));
    let (code, v) = api.request(
        "PATCH",
        &format!("{}&dryRun=Yes", path(&n)),
        "application/apply-patch+yaml",
        &body(&n, serde_json::json!({}), false),
    );
    assert_eq!(code, 422);
    assert!(v["message"].as_str().unwrap().contains("supported values: \"All\""));
}

#[test]
fn a_kubeconfig_user_that_acts_as_another_is_recorded_so() {
    let (env, api) = setup();
    api.state.grant("importer", &["get", "list", "patch", "create"]);
    // kubectl's `as:` in the user entry: sent as Impersonate-User, recorded like --as.
    let text = std::fs::read_to_string(env.path("kubeconfig")).unwrap();
    let text = text.replace(
        &format!("    token: {}\n", common::kubeapi::TOKEN),
        &format!("    token: {}\n    as: importer\n", common::kubeapi::TOKEN),
    );
    std::fs::write(env.path("kubeconfig"), text).unwrap();
    apply(&env, &[])
        .code(0)
        .stderr_has("(context admin, user admin-user as importer)");
    assert!(requests(&api)
        .iter()
        .all(|r| r.impersonate_user.as_deref() == Some("importer")));
    let rec = env.audit_records().last().unwrap().clone();
    assert_eq!(rec["destination"]["user"], "admin-user");
    assert_eq!(rec["destination"]["impersonate"], "importer");
    // --as on the command line wins over the kubeconfig's.
    api.state.grant("other", &["get", "list"]);
    apply(&env, &["--as", "other"]).code(0).stdout_has("unchanged");
    assert_eq!(
        requests(&api).last().unwrap().impersonate_user.as_deref(),
        Some("other")
    );
}

#[test]
fn a_key_held_as_text_is_a_conflict_even_forced_and_the_rest_is_applied() {
    let (env, api) = setup();
    apply(&env, &[]).code(0);
    // Someone replaced the signature with a text key of the same name (kubectl create
    // configmap --from-literal): kube-apiserver refuses a key in both data and binaryData (422).
    let n = name(RH_4_15_0);
    api.state
        .objects
        .lock()
        .unwrap()
        .get_mut(&n)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove("binaryData");
    api.state.managed.lock().unwrap().remove(&n);
    api.put_text(&n, &key(RH_4_15_0, 1), "text");
    api.state.objects.lock().unwrap().remove(&name(RH_4_15_46));
    let before = patches(&api).len();
    for extra in [&[][..], &["--force-conflicts"][..]] {
        apply(&env, extra)
            .code(1)
            .stdout_has(&format!("CONFLICT     configmap/{n}"))
            .stdout_has("held as text (data), not binaryData")
            .stdout_has("remove it from data by hand")
            .stderr_has("1 as text, under data, which only removing by hand resolves");
    }
    // The other releases were applied all the same.
    assert_eq!(
        api.bytes(&name(RH_4_15_46), &key(RH_4_15_46, 1)).unwrap(),
        rh_signature(RH_4_15_46)
    );
    // ... and nothing was sent for the one left alone.
    assert!(
        patches(&api)[before..].iter().all(|p| !p.contains(&format!("/{n}?"))),
        "{:?}",
        patches(&api)
    );
    // The double refuses the key in both, as the server did.
    let body = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "openshift-config-managed"}, "binaryData": {key(RH_4_15_0, 1): "eHg="}});
    let path = format!("/api/v1/namespaces/openshift-config-managed/configmaps/{n}?fieldManager=sigbundle&force=true");
    let (code, v) = api.request("PATCH", &path, "application/apply-patch+yaml", &body.to_string());
    assert_eq!(code, 422);
    assert_eq!(
        v["message"],
        format!(
            "ConfigMap \"{n}\" is invalid: data[{k}]: Invalid value: \"{k}\": duplicate of key present in binaryData",
            k = key(RH_4_15_0, 1)
        )
    );
}

#[test]
fn a_configmap_the_list_could_not_see_is_updated_not_created() {
    let (env, api) = setup();
    // There, without the label, holding another key: the apply adds the label and the key,
    // and says it updated (the server answered 200, not 201).
    api.seed(&name(RH_4_15_46), &[(&key(RH_4_15_46, 2), b"other")], "oc");
    api.unlabel(&name(RH_4_15_46));
    let runs: [(&[&str], &str, &str); 2] = [
        (&["--dry-run=server"], "would update", "would create"),
        (&[], "updated     ", "created     "),
    ];
    for (extra, updated, created) in runs {
        apply(&env, extra)
            .code(0)
            .stdout_has(&format!("{updated} configmap/{}", name(RH_4_15_46)))
            .stdout_has(&format!("{created} configmap/{}", name(RH_4_15_0)));
    }
    let objs = api.state.objects.lock().unwrap();
    let o = &objs[&name(RH_4_15_46)];
    assert_eq!(
        o["metadata"]["labels"]["release.openshift.io/verification-signatures"],
        ""
    );
    assert_eq!(o["binaryData"].as_object().unwrap().len(), 2);
}
