//! Applying signature ConfigMaps to a cluster: kubeconfig read as `kubectl` reads it (the
//! `kube` crate), one LIST of the existing signature ConfigMaps to plan, server-side apply
//! (field manager `sigbundle`) per release, and a read-back of every byte written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::ConfigMap as K8sConfigMap;
use k8s_openapi::ByteString;
use kube::api::{ListParams, ObjectMeta, Patch, PatchParams};
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, KubeconfigError, NamedAuthInfo, NamedCluster,
    NamedContext,
};
use kube::{Api, Client, Config};
use serde::Serialize;

use crate::audit::Destination;
use crate::bundle::VerifiedBundle;
use crate::configmap::{configmap_name, data_key, CVO_MANAGED_NAME, LABEL, NAMESPACE};

/// The field manager sigbundle applies with.
pub const FIELD_MANAGER: &str = "sigbundle";
/// The User-Agent of every request to the cluster.
pub const USER_AGENT: &str = concat!("sigbundle/", env!("CARGO_PKG_VERSION"));
/// Provenance annotations on every applied ConfigMap.
pub const ANNOTATION_BUNDLE: &str = "sigbundle.io/bundle-sha256";
pub const ANNOTATION_PACKER: &str = "sigbundle.io/packer";
pub const ANNOTATION_PACKED_AT: &str = "sigbundle.io/packed-at";

/// Why applying failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot load kubeconfig{}: {reason}", .path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Kubeconfig { path: Option<PathBuf>, reason: String },
    #[error("{flag} {value}: {reason}")]
    Flag {
        flag: &'static str,
        value: String,
        reason: String,
    },
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
    /// A failure after requests were sent, with where they went (for the audit record).
    #[error("{error}")]
    Attempt {
        destination: Box<Destination>,
        error: Box<ClusterError>,
    },
}

impl ClusterError {
    /// Where requests went before it failed; `None` when none were sent.
    pub fn destination(&self) -> Option<&Destination> {
        match self {
            ClusterError::Attempt { destination, .. } => Some(destination),
            _ => None,
        }
    }
}

/// Where to apply, and as whom: a kubeconfig context, with what `kubectl`'s flags of the same
/// names override.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// A kubeconfig file; default: `KUBECONFIG`, else `~/.kube/config`, as `kubectl` reads.
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig; default: its current context.
    pub context: Option<String>,
    /// The API server URL, instead of the context's cluster's (`--server`). With it, no
    /// kubeconfig file is needed.
    pub server: Option<String>,
    /// A bearer token, instead of the credentials of the context's user (`--token`).
    pub token: Option<String>,
    /// A PEM file of the certificate authorities to trust, instead of the context's cluster's
    /// (`--certificate-authority`).
    pub certificate_authority: Option<PathBuf>,
    /// Do not check the server's certificate (`--insecure-skip-tls-verify`).
    pub insecure_skip_tls_verify: bool,
    /// The user to act as (`--as`): sent as `Impersonate-User`.
    pub impersonate: Option<String>,
    /// Groups to act as (`--as-group`): sent as `Impersonate-Group`, one header each.
    pub impersonate_groups: Vec<String>,
}

/// The name given to the context, cluster and user sigbundle makes from the flags alone when
/// there is no kubeconfig (or it has no context); never shown or recorded as a context.
const FLAGS_ONLY: &str = "sigbundle-command-line";

/// Whose credentials were sent, as recorded (see [`ApplyReport`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    context: Option<String>,
    user: Option<String>,
    credentials: Option<&'static str>,
    impersonate: Option<String>,
    impersonate_groups: Vec<String>,
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
    /// A client dry run: would be applied; what the cluster holds is not known.
    Apply,
}

/// The plan (and outcome) for one release.
#[derive(Debug, Clone, Serialize)]
pub struct PlanItem {
    pub name: String,
    pub digest: String,
    pub action: Action,
    /// Every key the bundle holds for the release, in order.
    pub keys: Vec<String>,
    /// Keys that hold different bytes in the cluster.
    pub conflicting_keys: Vec<String>,
    /// Keys the cluster holds as text (`data`) instead of `binaryData`: a conflict that
    /// `--force-conflicts` cannot take over (the server refuses a key in both).
    pub keys_under_data: Vec<String>,
    /// A conflict taken over with `--force-conflicts` (or that would be, in a server dry run).
    pub forced: bool,
    /// Whether it was written (a dry run counts as not written).
    pub applied: bool,
}

/// Which dry run, as `kubectl --dry-run=server|client` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DryRun {
    /// The API server runs the request (`dryRun=All`) and stores nothing.
    Server,
    /// The plan from the bundle alone: no kubeconfig read, no request sent.
    Client,
}

impl DryRun {
    pub fn as_str(self) -> &'static str {
        match self {
            DryRun::Server => "server",
            DryRun::Client => "client",
        }
    }
}

/// What `apply` did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    /// The API server the requests went to; `None` for a client dry run (none was contacted).
    pub server: Option<String>,
    /// The kubeconfig context used; `None` when there was none (`--server` alone).
    pub context: Option<String>,
    /// The kubeconfig user whose credentials were sent; `None` when none were (`--token`
    /// replaced them, or there was no kubeconfig user).
    pub user: Option<String>,
    /// `"--token"` when a token given on the command line was sent instead of the kubeconfig
    /// user's credentials.
    pub credentials: Option<&'static str>,
    /// The user acted as (`--as`, or the kubeconfig user's `as`), sent as `Impersonate-User`.
    pub impersonate: Option<String>,
    /// The groups acted as (`--as-group`, or the kubeconfig user's `as-groups`).
    pub impersonate_groups: Vec<String>,
    pub namespace: &'static str,
    pub dry_run: bool,
    /// `server` or `client` for a dry run, `None` otherwise.
    pub dry_run_mode: Option<DryRun>,
    pub items: Vec<PlanItem>,
}

impl ApplyReport {
    /// Where it went, as the audit log records it.
    pub fn destination(&self) -> Destination {
        Destination::Cluster {
            server: self.server.clone(),
            context: self.context.clone(),
            user: self.user.clone(),
            namespace: self.namespace.to_string(),
            dry_run: self.dry_run,
            dry_run_mode: self.dry_run_mode.map(|m| m.as_str().to_string()),
            credentials: self.credentials.map(str::to_string),
            impersonate: self.impersonate.clone(),
            impersonate_groups: self.impersonate_groups.clone(),
        }
    }

    /// Conflicts that were left as they are.
    pub fn unresolved_conflicts(&self) -> impl Iterator<Item = &PlanItem> {
        self.items.iter().filter(|i| i.action == Action::Conflict && !i.forced)
    }
}

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Ask the server for a dry run (`dryRun=All`); nothing is stored.
    pub dry_run: bool,
    /// Overwrite keys that hold different bytes.
    pub force_conflicts: bool,
}

/// What RBAC refused, read from kube-apiserver's message: `User "U" cannot VERB resource "R"`.
fn refused_permission(message: &str) -> Option<(String, String, String)> {
    let after_user = message.split_once("User \"")?.1;
    let (user, rest) = after_user.split_once('"')?;
    let (verb, rest) = rest.strip_prefix(" cannot ")?.split_once(" resource \"")?;
    let resource = rest.split_once('"')?.0;
    Some((user.to_string(), verb.to_string(), resource.to_string()))
}

/// The hint after a refusal: what to grant, or what the status means here.
fn hint(status: &kube::core::Status, code: u16) -> String {
    let reason = status.reason.as_str();
    match code {
        403 => match refused_permission(&status.message) {
            Some((user, _, _)) if user == "system:anonymous" => {
                " (no credentials were sent: give --token, or a kubeconfig context whose user has them)".to_string()
            }
            Some((user, verb, resource)) if resource == "configmaps" => format!(
                " (user {user} needs permission to {verb} configmaps in namespace {NAMESPACE}; apply needs get, list, patch and create)"
            ),
            Some((user, _, resource)) if verb_is_impersonate(&status.message) => format!(
                " (user {user} may not act as another (--as/--as-group): it needs the impersonate permission on {resource})"
            ),
            _ => format!(" (apply needs get, list, patch and create on configmaps in namespace {NAMESPACE})"),
        },
        401 => " (the cluster refused the credentials: an expired or wrong token, or a certificate it does not trust)".to_string(),
        409 => " (another field manager owns these keys with other bytes: --force-conflicts to take them)".to_string(),
        404 if reason == "NotFound" && status.message.starts_with("namespaces ") => format!(
            " (namespace {NAMESPACE} does not exist: OpenShift creates it; is this an OpenShift cluster?)"
        ),
        _ => String::new(),
    }
}

/// The fields a 409 of server-side apply names (`.binaryData.KEY` as `KEY`), from its causes,
/// else its message.
fn conflict_fields(status: &kube::core::Status) -> Vec<String> {
    let mut fields: Vec<String> = status
        .details
        .iter()
        .flat_map(|d| d.causes.iter())
        .filter(|c| !c.field.is_empty())
        .map(|c| c.field.strip_prefix(".binaryData.").unwrap_or(&c.field).to_string())
        .collect();
    fields.dedup();
    if fields.is_empty() {
        fields.push(status.message.lines().next().unwrap_or_default().to_string());
    }
    fields
}

fn verb_is_impersonate(message: &str) -> bool {
    refused_permission(message).is_some_and(|(_, verb, _)| verb == "impersonate")
}

fn api_error(server: &str, verb: &'static str, object: &str, e: kube::Error) -> ClusterError {
    match e {
        kube::Error::Api(s) => ClusterError::Api {
            server: server.to_string(),
            verb,
            object: object.to_string(),
            status: s.code,
            // One line: a message of several conflicts comes in lines.
            message: s
                .message
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
            hint: hint(&s, s.code),
        },
        other => {
            let mut cause = crate::text::error_chain(&other);
            if cause.contains("certificate verify failed") {
                cause.push_str(
                    " (the server's certificate is not signed by a CA this context trusts: --certificate-authority FILE, or the kubeconfig cluster's certificate-authority)",
                );
            }
            ClusterError::Http {
                server: server.to_string(),
                verb,
                object: object.to_string(),
                cause,
            }
        }
    }
}

/// Whether the object an apply returned was there before it: another manager owns part of
/// it, or it holds keys this apply did not send.
fn existed_before(got: &K8sConfigMap, sent: &K8sConfigMap) -> bool {
    let others = got
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|m| m.manager.as_deref() != Some(FIELD_MANAGER));
    let sent_keys = sent.binary_data.as_ref().map(|d| d.len()).unwrap_or(0);
    let got_keys =
        got.binary_data.as_ref().map(|d| d.len()).unwrap_or(0) + got.data.as_ref().map(|d| d.len()).unwrap_or(0);
    others || got_keys > sent_keys
}

/// The `binaryData` keys sigbundle's own server-side apply owns in a ConfigMap, from its
/// `managedFields`.
fn own_keys(cm: &K8sConfigMap) -> Vec<String> {
    cm.metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.manager.as_deref() == Some(FIELD_MANAGER) && m.operation.as_deref() == Some("Apply"))
        .filter_map(|m| m.fields_v1.as_ref()?.0.get("f:binaryData")?.as_object().cloned())
        .flat_map(|o| {
            o.into_iter()
                .filter_map(|(k, _)| k.strip_prefix("f:").map(str::to_string))
        })
        .collect()
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

/// The kubeconfig as `kubectl` reads it (none needed with `--server`), with the flags'
/// overrides applied to the chosen context as `kubectl` applies them: `--server` and
/// `--certificate-authority` / `--insecure-skip-tls-verify` override the context's cluster,
/// `--token` replaces the credentials of its user, `--as` / `--as-group` set the user and groups
/// to act as. The result holds one context, [`FLAGS_ONLY`], built from those.
fn resolve(target: &Target) -> Result<(Kubeconfig, Identity), ClusterError> {
    let kc_err = |reason: String| ClusterError::Kubeconfig {
        path: target.kubeconfig.clone(),
        reason,
    };
    let kubeconfig = read_kubeconfig(target)?;
    let chosen = target.context.clone().or_else(|| kubeconfig.current_context.clone());
    let context = chosen
        .as_ref()
        .and_then(|c| kubeconfig.contexts.iter().find(|n| &n.name == c))
        .map(|n| n.context.clone().unwrap_or_default());
    let reported_context = match (&chosen, &context) {
        (Some(c), Some(_)) => Some(c.clone()),
        (Some(c), None) if target.context.is_some() || target.server.is_none() => {
            return Err(kc_err(format!("it has no context named {c}")))
        }
        (None, None) if target.server.is_none() => {
            return Err(kc_err(
                "it names no current context (give --context NAME, or the cluster with --server URL)".into(),
            ))
        }
        _ => None,
    };
    let context = context.unwrap_or_default();
    let mut cluster = match kubeconfig.clusters.iter().find(|n| n.name == context.cluster) {
        Some(n) => n.cluster.clone().unwrap_or_default(),
        None if target.server.is_some() => Cluster::default(),
        None => {
            return Err(kc_err(format!(
                "context {} names cluster {:?}, which it does not hold",
                reported_context.as_deref().unwrap_or("-"),
                context.cluster
            )))
        }
    };
    let named_user = context
        .user
        .as_ref()
        .and_then(|u| kubeconfig.auth_infos.iter().find(|n| &n.name == u));
    let mut auth = named_user.and_then(|n| n.auth_info.clone()).unwrap_or_default();

    cluster_flags(target, &mut cluster)?;
    user_flags(target, &mut auth)?;
    let identity = Identity {
        context: reported_context,
        user: match (&target.token, named_user) {
            (None, Some(n)) => Some(n.name.clone()),
            _ => None,
        },
        credentials: target.token.as_ref().map(|_| "--token"),
        impersonate: auth.impersonate.clone(),
        impersonate_groups: auth.impersonate_groups.clone().unwrap_or_default(),
    };
    let resolved = flags_only(cluster, auth, context);
    Ok((resolved, identity))
}

/// The kubeconfig `kubectl` would read (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`); with
/// `--server`, one that does not exist is an empty one, as for kubectl.
fn read_kubeconfig(target: &Target) -> Result<Kubeconfig, ClusterError> {
    let kc_err = |reason: String| ClusterError::Kubeconfig {
        path: target.kubeconfig.clone(),
        reason,
    };
    Ok(match &target.kubeconfig {
        Some(p) => Kubeconfig::read_from(p).map_err(|e| kc_err(crate::text::error_chain(&e)))?,
        None => match Kubeconfig::read() {
            Ok(k) => k,
            // As kubectl: with --server, a kubeconfig that does not exist is an empty one.
            Err(KubeconfigError::ReadConfig(io, _))
                if io.kind() == std::io::ErrorKind::NotFound && target.server.is_some() =>
            {
                Kubeconfig::default()
            }
            Err(KubeconfigError::FindPath) if target.server.is_some() => Kubeconfig::default(),
            Err(e) => {
                return Err(kc_err(format!(
                    "{} (or give the cluster with --server URL and --token TOKEN)",
                    crate::text::error_chain(&e)
                )))
            }
        },
    })
}

/// `--server`, `--certificate-authority` and `--insecure-skip-tls-verify` over the context's
/// cluster, as kubectl applies them.
fn cluster_flags(target: &Target, cluster: &mut Cluster) -> Result<(), ClusterError> {
    if let Some(s) = &target.server {
        cluster.server = Some(server_url(s)?);
        // As kubectl: a --server clears the kubeconfig's tls-server-name.
        cluster.tls_server_name = None;
    }
    if let Some(ca) = &target.certificate_authority {
        let flag = |reason: String| ClusterError::Flag {
            flag: "--certificate-authority",
            value: ca.display().to_string(),
            reason,
        };
        let pem = std::fs::read(ca).map_err(|e| flag(format!("cannot read it: {e}")))?;
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(flag("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
        }
        use base64::Engine;
        cluster.certificate_authority = None;
        cluster.certificate_authority_data = Some(base64::engine::general_purpose::STANDARD.encode(pem));
        cluster.insecure_skip_tls_verify = Some(false);
    }
    if target.insecure_skip_tls_verify {
        cluster.insecure_skip_tls_verify = Some(true);
        cluster.certificate_authority = None;
        cluster.certificate_authority_data = None;
    }
    Ok(())
}

/// `--token` (replacing the user's credentials), `--as` and `--as-group` over the context's
/// user, as kubectl applies them.
fn user_flags(target: &Target, auth: &mut AuthInfo) -> Result<(), ClusterError> {
    if let Some(token) = &target.token {
        // The token replaces every credential of the user (not only its token): what is sent is
        // what the command line says. The user's `as` settings stay, as with kubectl.
        let mut only_token: AuthInfo =
            serde_json::from_value(serde_json::json!({ "token": token })).expect("an AuthInfo with a token");
        only_token.impersonate = auth.impersonate.take();
        only_token.impersonate_uid = auth.impersonate_uid.take();
        only_token.impersonate_groups = auth.impersonate_groups.take();
        only_token.impersonate_user_extra = auth.impersonate_user_extra.take();
        *auth = only_token;
    }
    if let Some(user) = &target.impersonate {
        auth.impersonate = Some(user.clone());
    }
    if !target.impersonate_groups.is_empty() {
        auth.impersonate_groups = Some(target.impersonate_groups.clone());
    }
    if auth.impersonate.is_none() && auth.impersonate_groups.as_ref().is_some_and(|g| !g.is_empty()) {
        return Err(ClusterError::Flag {
            flag: "--as-group",
            value: auth.impersonate_groups.clone().unwrap_or_default().join(","),
            reason: "acting as groups needs a user to act as (--as USER)".into(),
        });
    }
    Ok(())
}

/// A kubeconfig of one context, [`FLAGS_ONLY`], holding the resolved cluster and user.
fn flags_only(cluster: Cluster, auth: AuthInfo, context: Context) -> Kubeconfig {
    Kubeconfig {
        clusters: vec![NamedCluster {
            name: FLAGS_ONLY.into(),
            cluster: Some(cluster),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: FLAGS_ONLY.into(),
            auth_info: Some(auth),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: FLAGS_ONLY.into(),
            context: Some(Context {
                cluster: FLAGS_ONLY.into(),
                user: Some(FLAGS_ONLY.into()),
                ..context
            }),
            ..NamedContext::default()
        }],
        current_context: Some(FLAGS_ONLY.into()),
        ..Kubeconfig::default()
    }
}

/// A `--server` as `kubectl` takes it: a URL, or `HOST:PORT` meaning `https://HOST:PORT`.
fn server_url(s: &str) -> Result<String, ClusterError> {
    let url = if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{s}")
    };
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    let ok = !host.is_empty() && !host.starts_with(':') && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(url)
    } else {
        Err(ClusterError::Flag {
            flag: "--server",
            value: s.to_string(),
            reason: "not an API server URL (https://HOST:PORT)".into(),
        })
    }
}

/// The plan of a client dry run (`--dry-run=client`): from the bundle alone, with no kubeconfig
/// read and no request sent, so it cannot say what the cluster holds: one item per ConfigMap
/// that would be applied, with its keys.
pub fn plan_client(bundle: &VerifiedBundle) -> ApplyReport {
    let items = bundle
        .releases
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.signatures.is_empty())
        .map(|(i, r)| {
            let want = desired(bundle, i);
            PlanItem {
                name: want.metadata.name.clone().expect("named"),
                digest: r.digest.to_string(),
                action: Action::Apply,
                keys: want.binary_data.as_ref().expect("has data").keys().cloned().collect(),
                conflicting_keys: Vec::new(),
                keys_under_data: Vec::new(),
                forced: false,
                applied: false,
            }
        })
        .collect();
    ApplyReport {
        server: None,
        context: None,
        user: None,
        credentials: None,
        impersonate: None,
        impersonate_groups: Vec::new(),
        namespace: NAMESPACE,
        dry_run: true,
        dry_run_mode: Some(DryRun::Client),
        items,
    }
}

/// Plan and apply every release of a verified bundle.
pub async fn apply(bundle: &VerifiedBundle, target: &Target, opts: ApplyOptions) -> Result<ApplyReport, ClusterError> {
    let (api, server, identity) = connect(target).await?;
    let report = ApplyReport {
        server: Some(server.clone()),
        context: identity.context,
        user: identity.user,
        credentials: identity.credentials,
        impersonate: identity.impersonate,
        impersonate_groups: identity.impersonate_groups,
        namespace: NAMESPACE,
        dry_run: opts.dry_run,
        dry_run_mode: opts.dry_run.then_some(DryRun::Server),
        items: Vec::new(),
    };
    match plan_and_apply(bundle, &api, &server, opts).await {
        Ok(items) => Ok(ApplyReport { items, ..report }),
        // Requests were sent: the record says where to, and as whom.
        Err(error) => Err(ClusterError::Attempt {
            destination: Box::new(report.destination()),
            error: Box::new(error),
        }),
    }
}

/// The signatures the cluster holds in its signature ConfigMaps (labelled as the CVO reads
/// them, in `openshift-config-managed`), by release digest, in key order.
pub fn signatures_blocking(target: &Target) -> Result<BTreeMap<crate::digest::Digest, Vec<Vec<u8>>>, ClusterError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ClusterError::Runtime)?
        .block_on(async {
            let (api, server, _) = connect(target).await?;
            let list = api
                .list(&ListParams::default().labels(LABEL))
                .await
                .map_err(|e| api_error(&server, "list", &format!("configmaps -l {LABEL} in {NAMESPACE}"), e))?;
            let mut out: BTreeMap<crate::digest::Digest, Vec<Vec<u8>>> = BTreeMap::new();
            for cm in list.items {
                for (key, value) in cm.binary_data.unwrap_or_default() {
                    // `sha256-<hex>-<n>`, as oc writes the keys.
                    if let Some((d, _)) = crate::configmap::parse_data_key(&key) {
                        out.entry(d).or_default().push(value.0);
                    }
                }
            }
            Ok(out)
        })
}

/// A client for the ConfigMaps of [`NAMESPACE`], from the kubeconfig and flags as `kubectl`
/// reads them: the API, the server's URL, and who asks.
async fn connect(target: &Target) -> Result<(Api<K8sConfigMap>, String, Identity), ClusterError> {
    let kc_err = |reason: String| ClusterError::Kubeconfig {
        path: target.kubeconfig.clone(),
        reason,
    };
    let (kubeconfig, identity) = resolve(target)?;
    let options = KubeConfigOptions {
        context: Some(FLAGS_ONLY.into()),
        ..KubeConfigOptions::default()
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| kc_err(crate::text::error_chain(&e)))?;
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let mut config = config;
    // Named in the cluster's audit log, as kubectl is (kube sends no User-Agent of its own).
    config.headers.push((
        reqwest::header::USER_AGENT,
        reqwest::header::HeaderValue::from_static(USER_AGENT),
    ));
    let client = Client::try_from(config).map_err(|e| kc_err(crate::text::error_chain(&e)))?;
    Ok((Api::namespaced(client, NAMESPACE), server, identity))
}

/// The LIST, the applies and the read-back, against one client.
async fn plan_and_apply(
    bundle: &VerifiedBundle,
    api: &Api<K8sConfigMap>,
    server: &str,
    opts: ApplyOptions,
) -> Result<Vec<PlanItem>, ClusterError> {
    let server = server.to_string();

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
        let mut want = desired(bundle, i);
        let name = want.metadata.name.clone().expect("named");
        let want_data = want.binary_data.clone().expect("has data");
        // Keys the cluster holds as text (`data`): the server refuses the same key in both
        // (422), so sigbundle leaves such a ConfigMap alone, forced or not.
        let keys_under_data: Vec<String> = existing
            .get(&name)
            .and_then(|cm| cm.data.as_ref())
            .map(|d| want_data.keys().filter(|k| d.contains_key(*k)).cloned().collect())
            .unwrap_or_default();
        let (mut action, mut conflicting_keys) = classify(existing.get(&name), &want_data, &keys_under_data);
        // Server-side apply removes what a manager applied before and applies no more. Keys
        // sigbundle applied from an earlier bundle are signatures too: applied again as they
        // are, so they stay (kube-apiserver removed them otherwise).
        if let Some(cm) = existing.get(&name) {
            keep_own_keys(&mut want, cm);
        }
        let mut write = match action {
            Action::Unchanged => false,
            Action::Conflict => opts.force_conflicts && keys_under_data.is_empty(),
            Action::Create | Action::Update | Action::Apply => true,
        };
        if write && !server_apply(api, &server, &name, &want, opts, &mut action, &mut conflicting_keys).await? {
            write = false;
        }
        items.push(PlanItem {
            name,
            digest: r.digest.to_string(),
            action,
            keys: want_data.keys().cloned().collect(),
            conflicting_keys,
            keys_under_data,
            forced: write && action == Action::Conflict,
            applied: write && !opts.dry_run,
        });
    }

    // Read back every byte written.
    if !opts.dry_run {
        read_back(bundle, api, &server, &items).await?;
    }
    Ok(items)
}

/// Keys sigbundle applied from an earlier bundle, kept in what is applied now (server-side
/// apply removes what a manager applied before and applies no more).
fn keep_own_keys(want: &mut K8sConfigMap, cm: &K8sConfigMap) {
    let have = cm.binary_data.clone().unwrap_or_default();
    let data = want.binary_data.as_mut().expect("has data");
    for k in own_keys(cm) {
        if let (false, Some(v)) = (data.contains_key(&k), have.get(&k)) {
            data.insert(k, v.clone());
        }
    }
}

/// One server-side apply (a dry run with `opts.dry_run`). `false` when the server answered with
/// a conflict the LIST could not foresee (the release is then a conflict, left as it is); a
/// create of a ConfigMap that was there after all becomes an update.
async fn server_apply(
    api: &Api<K8sConfigMap>,
    server: &str,
    name: &str,
    want: &K8sConfigMap,
    opts: ApplyOptions,
    action: &mut Action,
    conflicting_keys: &mut Vec<String>,
) -> Result<bool, ClusterError> {
    let mut pp = PatchParams::apply(FIELD_MANAGER);
    if opts.force_conflicts {
        pp = pp.force();
    }
    pp.dry_run = opts.dry_run;
    match api.patch(name, &pp, &Patch::Apply(want)).await {
        // The LIST did not show it (no label), yet it was there: an update.
        Ok(got) if *action == Action::Create && existed_before(&got, want) => *action = Action::Update,
        Ok(_) => {}
        // The LIST did not show what conflicts (a ConfigMap without the label, or one written
        // since): the server's conflict is this release's, left as it is.
        Err(kube::Error::Api(s)) if s.code == 409 && !opts.force_conflicts => {
            *action = Action::Conflict;
            *conflicting_keys = conflict_fields(&s);
            return Ok(false);
        }
        Err(e) => {
            return Err(api_error(
                server,
                "apply",
                &format!("configmap {name} in {NAMESPACE}"),
                e,
            ))
        }
    }
    Ok(true)
}

/// What applying `want` to what the cluster holds would do: create, unchanged, update, or a
/// conflict (with the keys holding other bytes; none listed when keys are held as text).
fn classify(
    have: Option<&K8sConfigMap>,
    want_data: &BTreeMap<String, ByteString>,
    keys_under_data: &[String],
) -> (Action, Vec<String>) {
    match have {
        None => (Action::Create, Vec::new()),
        Some(_) if !keys_under_data.is_empty() => (Action::Conflict, Vec::new()),
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
    }
}

/// Read back every ConfigMap written and compare each signature with the bundle's bytes.
async fn read_back(
    bundle: &VerifiedBundle,
    api: &Api<K8sConfigMap>,
    server: &str,
    items: &[PlanItem],
) -> Result<(), ClusterError> {
    for item in items.iter().filter(|it| it.applied) {
        let got = api
            .get(&item.name)
            .await
            .map_err(|e| api_error(server, "get", &format!("configmap {} in {NAMESPACE}", item.name), e))?;
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
                    server: server.to_string(),
                    name: item.name.clone(),
                    key,
                });
            }
        }
    }
    Ok(())
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
    let verb = match (item.action, item.forced, dry_run) {
        (Action::Create, _, true) => "would create",
        (Action::Create, _, false) => "created",
        (Action::Update, _, true) => "would update",
        (Action::Update, _, false) => "updated",
        (Action::Unchanged, _, _) => "unchanged",
        (Action::Conflict, true, true) => "would force",
        (Action::Conflict, true, false) => "forced",
        (Action::Conflict, false, _) => "CONFLICT",
        (Action::Apply, _, _) => "would apply",
    };
    let mut s = format!("{verb:12} configmap/{} ({})", item.name, item.digest);
    if item.action == Action::Apply {
        s.push_str(&format!(": keys {}", item.keys.join(", ")));
    }
    if !item.keys_under_data.is_empty() {
        s.push_str(&format!(
            ": {} held as text (data), not binaryData; left as they are (the server refuses a key in both: remove it from data by hand)",
            item.keys_under_data.join(", ")
        ));
    }
    if !item.conflicting_keys.is_empty() {
        s.push_str(&format!(
            ": {} hold(s) different bytes{}",
            item.conflicting_keys.join(", "),
            if item.forced && !dry_run {
                ", overwritten (--force-conflicts)"
            } else if item.forced {
                ", would be overwritten (--force-conflicts)"
            } else {
                "; left as they are (--force-conflicts to overwrite)"
            }
        ));
    }
    s
}

/// Who asked, for humans: `context admin`, `context -, --token`, `context admin, user u as bob
/// (groups ops)`.
pub fn describe_identity(report: &ApplyReport) -> String {
    let mut s = format!("context {}", report.context.as_deref().unwrap_or("-"));
    if let Some(c) = report.credentials {
        s.push_str(&format!(", credentials {c}"));
    }
    if let Some(a) = &report.impersonate {
        s.push_str(&format!(
            ", {} as {a}",
            report
                .user
                .as_deref()
                .map(|u| format!("user {u}"))
                .unwrap_or_else(|| "acting".into())
        ));
        if !report.impersonate_groups.is_empty() {
            s.push_str(&format!(" (groups {})", report.impersonate_groups.join(", ")));
        }
    }
    s
}
