//! `unpack emit --format kustomize|acm-policy|oc-mirror` (issue 15, "Fleets") through the real
//! binaries: a kustomization that Debian's `kubectl kustomize` renders into exactly the `oc`
//! objects; ACM objects that validate against the CRDs' schemas (tests/fixtures/acm-crds/) and
//! embed exactly the `oc` objects; oc-mirror's ConfigMap, round-tripped through `pack --store`.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use common::*;
use serde_json::Value;

/// Emit the signed bundle `b.tar.zst` with `extra` arguments.
fn emit(env: &Env, pk: &str, extra: &[&str]) -> Run {
    let mut args = vec!["emit", "b.tar.zst", "--packer-key", pk];
    args.extend(extra);
    env.run("unpack", &args)
}

/// A bundle of the three real releases, and the `oc` objects `--to-dir` writes for it (in
/// `oc/`), by name.
fn setup() -> (Env, String, BTreeMap<String, Value>) {
    let env = Env::new();
    let (r, public) = env.pack_signed("b.tar.zst", "zstd");
    r.code(0);
    let pk = public.display().to_string();
    emit(&env, &pk, &["--to-dir", "oc", "--format", "oc-json"]).code(0);
    let oc = env
        .ls("oc")
        .iter()
        .map(|n| {
            let v: Value = serde_json::from_slice(&std::fs::read(env.path("oc").join(n)).unwrap()).unwrap();
            (v["metadata"]["name"].as_str().unwrap().to_string(), v)
        })
        .collect();
    (env, pk, oc)
}

/// Debian's kubectl (package kubernetes-client): /usr/bin/kubectl when that package owns it,
/// else where scripts/deps.sh unpacked it beside another package's kubectl.
fn debian_kubectl() -> PathBuf {
    let owner = Command::new("dpkg-query").args(["-S", "/usr/bin/kubectl"]).output();
    if owner.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("kubernetes-client:")) {
        return PathBuf::from("/usr/bin/kubectl");
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
    let unpacked = cache.join("sigbundle/kubernetes-client/usr/bin/kubectl");
    assert!(
        unpacked.exists(),
        "Debian's kubectl (kubernetes-client) is needed: run scripts/deps.sh test"
    );
    unpacked
}

#[test]
fn kustomize_renders_exactly_the_oc_objects() {
    let (env, pk, oc) = setup();
    let r = emit(&env, &pk, &["--to-dir", "k", "--format", "kustomize", "--json"]);
    r.code(0);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let kinds: Vec<_> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].clone())
        .collect();
    assert_eq!(kinds, [Value::Null, Value::Null, Value::Null, "Kustomization".into()]);
    // The ConfigMap files are oc's, byte for byte.
    for name in env.ls("oc") {
        assert_eq!(
            std::fs::read(env.path("k").join(&name)).unwrap(),
            std::fs::read(env.path("oc").join(&name)).unwrap()
        );
    }
    let out = Command::new(debian_kubectl())
        .arg("kustomize")
        .arg(env.path("k"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered: Vec<Value> = serde_saphyr::from_slice_multiple(&out.stdout).unwrap();
    let rendered: BTreeMap<String, Value> = rendered
        .into_iter()
        .map(|v| (v["metadata"]["name"].as_str().unwrap().to_string(), v))
        .collect();
    assert_eq!(rendered, oc, "kubectl kustomize renders exactly the oc objects");
    let last = env.audit_records().pop().unwrap();
    assert_eq!(last["action"], "emit");
    assert_eq!(last["destination"]["format"], "kustomize");
    assert!(last["destination"]["path"].as_str().unwrap().ends_with('k'));
    // Emitting again changes nothing; a folder of another format is refused.
    emit(&env, &pk, &["--to-dir", "k", "--format", "kustomize"])
        .code(0)
        .stderr_has("4 unchanged");
    emit(&env, &pk, &["--to-dir", "k", "--format", "yaml"])
        .code(2)
        .stderr_has("kustomization.yaml holds kustomize output");
}

/// The `openAPIV3Schema` of the CRD in tests/fixtures/acm-crds/`file`, as a validator.
fn crd_schema(file: &str) -> jsonschema::Validator {
    let crd: Value = serde_saphyr::from_slice(&std::fs::read(fixture(&format!("acm-crds/{file}"))).unwrap()).unwrap();
    let version = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["storage"] == true)
        .unwrap();
    jsonschema::validator_for(&version["schema"]["openAPIV3Schema"]).unwrap()
}

fn assert_valid(schema: &jsonschema::Validator, object: &Value, what: &str) {
    let errors: Vec<String> = schema.iter_errors(object).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{what}: {errors:?}");
}

#[test]
fn acm_objects_validate_against_the_crds_and_embed_the_oc_objects() {
    let (env, pk, oc) = setup();
    emit(
        &env,
        &pk,
        &[
            "--to-dir",
            "acm",
            "--format",
            "acm-policy",
            "--placement-label",
            "env=prod",
            "--policy-namespace",
            "sig-policies",
        ],
    )
    .code(0)
    .stderr_has("ACM object file(s)");
    assert_eq!(
        env.ls("acm"),
        [
            "release-signatures-placement.yaml",
            "release-signatures-placementbinding.yaml",
            "release-signatures-policy-1.yaml"
        ]
    );
    let load = |name: &str| -> Value {
        serde_saphyr::from_slice(&std::fs::read(env.path("acm").join(name)).unwrap()).unwrap()
    };
    let policy = load("release-signatures-policy-1.yaml");
    let placement = load("release-signatures-placement.yaml");
    let binding = load("release-signatures-placementbinding.yaml");
    let (policies, configpolicies) = (crd_schema("policies.yaml"), crd_schema("configurationpolicies.yaml"));
    assert_valid(&policies, &policy, "Policy");
    assert_valid(&crd_schema("placements.yaml"), &placement, "Placement");
    assert_valid(&crd_schema("placementbindings.yaml"), &binding, "PlacementBinding");
    let template = &policy["spec"]["policy-templates"][0]["objectDefinition"];
    assert_valid(&configpolicies, template, "ConfigurationPolicy");
    for object in [&policy, &placement, &binding] {
        assert_eq!(object["metadata"]["namespace"], "sig-policies");
    }
    assert_eq!(policy["spec"]["remediationAction"], "enforce");
    assert_eq!(template["spec"]["remediationAction"], "enforce");
    assert_eq!(
        placement["spec"]["predicates"][0]["requiredClusterSelector"]["labelSelector"]["matchLabels"],
        serde_json::json!({"env": "prod"})
    );
    assert_eq!(binding["placementRef"]["name"], placement["metadata"]["name"]);
    assert_eq!(binding["subjects"][0]["name"], policy["metadata"]["name"]);
    // Each ConfigMap, enforced as musthave, is exactly the oc object.
    let mut embedded = BTreeMap::new();
    for t in template["spec"]["object-templates"].as_array().unwrap() {
        assert_eq!(t["complianceType"], "musthave");
        let cm = t["objectDefinition"].clone();
        embedded.insert(cm["metadata"]["name"].as_str().unwrap().to_string(), cm);
    }
    assert_eq!(embedded, oc);
    // The schemas do refuse what the API server would: this check can fail.
    let mut wrong = template.clone();
    wrong["spec"]["object-templates"][0]["complianceType"] = "sometimes".into();
    assert!(!configpolicies.is_valid(&wrong));
    let mut wrong = policy.clone();
    wrong["spec"].as_object_mut().unwrap().remove("disabled");
    assert!(!policies.is_valid(&wrong));

    let last = env.audit_records().pop().unwrap();
    assert_eq!(last["outcome"], "ok");
    assert_eq!(last["destination"]["format"], "acm-policy");
    // The ACM options belong to acm-policy only.
    emit(&env, &pk, &["--to-dir", "x", "--placement-label", "a=b"])
        .code(2)
        .stderr_has("go with --format acm-policy");
    emit(
        &env,
        &pk,
        &["--to-dir", "x", "--format", "acm-policy", "--placement-label", "ab"],
    )
    .code(2)
    .stderr_has("expected KEY=VALUE");
    assert!(!env.path("x").exists());
}

#[test]
fn oc_mirror_configmap_round_trips_through_pack_store() {
    let (env, pk, oc) = setup();
    emit(&env, &pk, &["--to-dir", "cr", "--format", "oc-mirror"]).code(0);
    assert_eq!(env.ls("cr"), ["signature-configmap.json", "signature-configmap.yaml"]);
    let json = std::fs::read(env.path("cr/signature-configmap.json")).unwrap();
    // Go's encoding/json of oc-mirror's own type: this field order, compact, no newline.
    let text = String::from_utf8(json.clone()).unwrap();
    assert!(
        text.starts_with(r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"mirrored-release-signatures","namespace":"openshift-config-managed","labels":{"release.openshift.io/verification-signatures":""},"annotations":{"createdAt":""#),
        "{text}"
    );
    assert!(text.ends_with("}}"));
    let cm: Value = serde_json::from_slice(&json).unwrap();
    let yaml: Value =
        serde_saphyr::from_slice(&std::fs::read(env.path("cr/signature-configmap.yaml")).unwrap()).unwrap();
    assert_eq!(cm, yaml, "the two files hold one object");
    assert!(cm["metadata"]["annotations"]["createdBy"]
        .as_str()
        .unwrap()
        .starts_with("sigbundle "));
    // Keys numbered across releases, in bundle order (sorted by digest), each the oc bytes.
    let mut want = BTreeMap::new();
    for (n, object) in oc.values().enumerate() {
        let (key, value) = object["binaryData"].as_object().unwrap().iter().next().unwrap();
        let hex = key.strip_prefix("sha256-").unwrap().strip_suffix("-1").unwrap();
        want.insert(format!("sha256-{hex}-{}", n + 1), value.clone());
    }
    assert_eq!(
        cm["binaryData"].as_object().unwrap().clone(),
        want.into_iter().collect()
    );

    // Back through pack: the same signatures, verified again, in a bundle.
    for source in ["cr/signature-configmap.json", "cr/signature-configmap.yaml", "cr", "oc"] {
        let mut args = vec![
            "--store",
            source,
            "--no-sign",
            "--concurrency",
            "1",
            "-o",
            "re.tar.zst",
            "--force",
        ];
        args.extend(RH_ALL);
        env.run("pack", &args).code(0);
        let out = format!("re-{}", source.replace(['/', '.'], "-"));
        env.run("unpack", &["emit", "re.tar.zst", "--allow-unsigned", "--to-dir", &out])
            .code(0);
        for name in env.ls("oc") {
            assert_eq!(
                std::fs::read(env.path(&out).join(&name)).unwrap(),
                std::fs::read(env.path("oc").join(&name)).unwrap(),
                "{source}: {name}"
            );
        }
    }
    // A signature altered in the ConfigMap is judged, not carried.
    let mut altered = cm.clone();
    let first = altered["binaryData"]
        .as_object_mut()
        .unwrap()
        .values_mut()
        .next()
        .unwrap();
    let mut bytes = base64_decode(first.as_str().unwrap());
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    *first = base64_encode(&bytes).into();
    std::fs::write(env.path("altered.json"), serde_json::to_vec(&altered).unwrap()).unwrap();
    let mut args = vec!["--store", "altered.json", "--no-sign", "-o", "bad.tar.zst"];
    args.extend(RH_ALL);
    env.run("pack", &args).code(1);
    assert!(!env.path("bad.tar.zst").exists());
    // A ConfigMap the cluster would not read is refused by name.
    let other = String::from_utf8(json)
        .unwrap()
        .replace("openshift-config-managed", "default");
    std::fs::write(env.path("other.json"), other).unwrap();
    env.run(
        "pack",
        &["--store", "other.json", "--no-sign", "-o", "o.tar.zst", RH_4_15_0],
    )
    .code(2)
    .stderr_has("not a signature ConfigMap");
    // And an oc-mirror folder does not take another format.
    emit(&env, &pk, &["--to-dir", "cr", "--format", "kustomize"])
        .code(2)
        .stderr_has("holds oc-mirror output");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
