//! Applying signature ConfigMaps to a cluster: kubeconfig read as `kubectl` reads it (the
//! `kube` crate), one LIST of the existing signature ConfigMaps to plan, server-side apply
//! (field manager `sigbundle`) per release, and a read-back of every byte written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::ConfigMap as K8sConfigMap;
use k8s_openapi::ByteString;
use kube::api::{ListParams, ObjectMeta, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde::Serialize;

use crate::bundle::VerifiedBundle;
use crate::configmap::{configmap_name, data_key, CVO_MANAGED_NAME, LABEL, NAMESPACE};

/// The field manager sigbundle applies with.
pub const FIELD_MANAGER: &str = "sigbundle";
/// Provenance annotations on every applied ConfigMap.
pub const ANNOTATION_BUNDLE: &str = "sigbundle.io/bundle-sha256";
pub const ANNOTATION_PACKER: &str = "sigbundle.io/packer";
pub const ANNOTATION_PACKED_AT: &str = "sigbundle.io/packed-at";

/// Why applying failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot load kubeconfig{}: {reason}", .path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Kubeconfig { path: Option<PathBuf>, reason: String },
    #[error("cluster {server}: {verb} {object}: HTTP {status}: {message}{hint}")]
    Api {
        server: String,
        verb: &'static str,
        object: String,
        status: u16,
        message: String,
        hint: String,
    },
    #[error("cluster {server}: {verb} {object}: {cause}")]
    Http {
        server: String,
        verb: &'static str,
        object: String,
        cause: String,
    },
    #[error("cluster {server}: read-back of configmap {name} key {key} does not hold the bytes written")]
    ReadBack { server: String, name: String, key: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Where to apply.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A kubeconfig file; default: `KUBECONFIG`, else `~/.kube/config`, as `kubectl` reads.
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig; default: its current context.
    pub context: Option<String>,
}

/// What apply does for one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// No such ConfigMap yet.
    Create,
    /// Every key already holds exactly these bytes.
    Unchanged,
    /// Some keys are missing and will be added.
    Update,
    /// A key holds different bytes; left alone unless forced.
    Conflict,
}

/// The plan (and outcome) for one release.
#[derive(Debug, Clone, Serialize)]
pub struct PlanItem {
    pub name: String,
    pub digest: String,
    pub action: Action,
    /// Keys that hold different bytes in the cluster.
    pub conflicting_keys: Vec<String>,
    /// Whether it was written (a server-side dry run counts as not written).
    pub applied: bool,
}

/// What `apply` did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub server: String,
    pub context: Option<String>,
    pub user: Option<String>,
    pub namespace: &'static str,
    pub dry_run: bool,
    pub items: Vec<PlanItem>,
}

impl ApplyReport {
    /// Conflicts that were left as they are.
    pub fn unresolved_conflicts(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| i.action == Action::Conflict && !i.applied)
    }
}

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Ask the server for a dry run; nothing is stored.
    pub dry_run: bool,
    /// Overwrite keys that hold different bytes.
    pub force_conflicts: bool,
}

fn api_error(server: &str, verb: &'static str, object: &str, e: kube::Error) -> ClusterError {
    match e {
        kube::Error::Api(s) => {
            let hint = match s.code {
                403 => format!(
                    " (the user needs permission to {} configmaps in namespace {NAMESPACE}: get, list and patch)",
                    match verb {
                        "list" => "list",
                        "get" => "get",
                        _ => "patch",
                    }
                ),
                401 => " (the cluster refused the credentials of this context)".to_string(),
                409 => " (another field manager owns these keys with other bytes: --force-conflicts to take them)"
                    .to_string(),
                _ => String::new(),
            };
            ClusterError::Api {
                server: server.to_string(),
                verb,
                object: object.to_string(),
                status: s.code,
                message: s.message.clone(),
                hint,
            }
        }
        other => ClusterError::Http {
            server: server.to_string(),
            verb,
            object: object.to_string(),
            cause: crate::text::error_chain(&other),
        },
    }
}

/// The desired ConfigMap of one release, with provenance annotations.
fn desired(bundle: &VerifiedBundle, index: usize) -> K8sConfigMap {
    let r = &bundle.releases[index];
    let name = configmap_name(&r.digest);
    assert_ne!(name, CVO_MANAGED_NAME, "never write the CVO's own ConfigMap");
    let binary_data = r
        .signatures
        .iter()
        .enumerate()
        .map(|(i, s)| (data_key(&r.digest, i + 1), ByteString(s.bytes.clone())))
        .collect();
    let created = bundle.manifest.created.clone();
    K8sConfigMap {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(NAMESPACE.to_string()),
            labels: Some(BTreeMap::from([(LABEL.to_string(), String::new())])),
            annotations: Some(BTreeMap::from([
                (ANNOTATION_BUNDLE.to_string(), bundle.sha256.clone()),
                (
                    ANNOTATION_PACKER.to_string(),
                    bundle.packer.verified_packer().unwrap_or_else(|| "unverified".into()),
                ),
                (ANNOTATION_PACKED_AT.to_string(), created),
            ])),
            ..ObjectMeta::default()
        },
        binary_data: Some(binary_data),
        ..K8sConfigMap::default()
    }
}

/// Plan and apply every release of a verified bundle.
pub async fn apply(bundle: &VerifiedBundle, target: &Target, opts: ApplyOptions) -> Result<ApplyReport, ClusterError> {
    let kc_err = |reason: String| ClusterError::Kubeconfig {
        path: target.kubeconfig.clone(),
        reason,
    };
    let kubeconfig = match &target.kubeconfig {
        Some(p) => Kubeconfig::read_from(p),
        None => Kubeconfig::read(),
    }
    .map_err(|e| kc_err(crate::text::error_chain(&e)))?;
    let context = target.context.clone().or_else(|| kubeconfig.current_context.clone());
    let user = context.as_ref().and_then(|c| {
        kubeconfig
            .contexts
            .iter()
            .find(|n| &n.name == c)
            .and_then(|n| n.context.as_ref())
            .and_then(|c| c.user.clone())
    });
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| kc_err(crate::text::error_chain(&e)))?;
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let client = Client::try_from(config).map_err(|e| kc_err(crate::text::error_chain(&e)))?;
    let api: Api<K8sConfigMap> = Api::namespaced(client, NAMESPACE);

    // One LIST of what is there, by the label the cluster reads.
    let existing: BTreeMap<String, K8sConfigMap> = api
        .list(&ListParams::default().labels(LABEL))
        .await
        .map_err(|e| api_error(&server, "list", &format!("configmaps -l {LABEL} in {NAMESPACE}"), e))?
        .items
        .into_iter()
        .filter_map(|cm| cm.metadata.name.clone().map(|n| (n, cm)))
        .collect();

    let mut items = Vec::new();
    for (i, r) in bundle.releases.iter().enumerate() {
        if r.signatures.is_empty() {
            continue;
        }
        let want = desired(bundle, i);
        let name = want.metadata.name.clone().expect("named");
        let want_data = want.binary_data.as_ref().expect("has data");
        let (action, conflicting_keys) = match existing.get(&name) {
            None => (Action::Create, Vec::new()),
            Some(cm) => {
                let have = cm.binary_data.clone().unwrap_or_default();
                let conflicts: Vec<String> = want_data
                    .iter()
                    .filter(|(k, v)| have.get(*k).is_some_and(|h| h != *v))
                    .map(|(k, _)| k.clone())
                    .collect();
                if !conflicts.is_empty() {
                    (Action::Conflict, conflicts)
                } else if want_data.keys().all(|k| have.contains_key(k)) {
                    (Action::Unchanged, Vec::new())
                } else {
                    (Action::Update, Vec::new())
                }
            }
        };
        let write = match action {
            Action::Unchanged => false,
            Action::Conflict => opts.force_conflicts,
            Action::Create | Action::Update => true,
        };
        if write {
            let mut pp = PatchParams::apply(FIELD_MANAGER);
            if opts.force_conflicts {
                pp = pp.force();
            }
            pp.dry_run = opts.dry_run;
            api.patch(&name, &pp, &Patch::Apply(&want))
                .await
                .map_err(|e| api_error(&server, "apply", &format!("configmap {name} in {NAMESPACE}"), e))?;
        }
        items.push(PlanItem {
            name,
            digest: r.digest.to_string(),
            action,
            conflicting_keys,
            applied: write && !opts.dry_run,
        });
    }

    // Read back every byte written.
    if !opts.dry_run {
        for item in items.iter().filter(|it| it.applied) {
            let got = api
                .get(&item.name)
                .await
                .map_err(|e| api_error(&server, "get", &format!("configmap {} in {NAMESPACE}", item.name), e))?;
            let have = got.binary_data.unwrap_or_default();
            let r = bundle
                .releases
                .iter()
                .find(|r| r.digest.to_string() == item.digest)
                .expect("planned from the bundle");
            for (n, s) in r.signatures.iter().enumerate() {
                let key = data_key(&r.digest, n + 1);
                if have.get(&key).map(|b| &b.0) != Some(&s.bytes) {
                    return Err(ClusterError::ReadBack {
                        server,
                        name: item.name.clone(),
                        key,
                    });
                }
            }
        }
    }
    Ok(ApplyReport {
        server,
        context,
        user,
        namespace: NAMESPACE,
        dry_run: opts.dry_run,
        items,
    })
}

/// [`apply`] on its own runtime.
pub fn apply_blocking(
    bundle: &VerifiedBundle,
    target: &Target,
    opts: ApplyOptions,
) -> Result<ApplyReport, ClusterError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClusterError::Runtime)?
        .block_on(apply(bundle, target, opts))
}

/// A human line for a planned item (`created`, `would create`, …).
pub fn describe(item: &PlanItem, dry_run: bool) -> String {
    let verb = match (item.action, item.applied, dry_run) {
        (Action::Create, _, true) => "would create",
        (Action::Create, _, false) => "created",
        (Action::Update, _, true) => "would update",
        (Action::Update, _, false) => "updated",
        (Action::Unchanged, _, _) => "unchanged",
        (Action::Conflict, true, _) => "forced",
        (Action::Conflict, false, true) if item.conflicting_keys.is_empty() => "conflict",
        (Action::Conflict, false, _) => "CONFLICT",
    };
    let mut s = format!("{verb:12} configmap/{} ({})", item.name, item.digest);
    if !item.conflicting_keys.is_empty() {
        s.push_str(&format!(
            ": {} hold(s) different bytes{}",
            item.conflicting_keys.join(", "),
            if item.applied {
                ", overwritten (--force-conflicts)"
            } else {
                "; left as they are (--force-conflicts to overwrite)"
            }
        ));
    }
    s
}
