//! A loopback HTTPS server that speaks the part of the Kubernetes API `unpack apply` uses, as
//! kube-apiserver v1.35 answers it (checked against a real one; the project's notes keep the
//! runs): ConfigMaps in one namespace (GET, LIST with a label selector, server-side-apply PATCH
//! with `fieldManager`, `force`, `dryRun=All`), bearer tokens, RBAC for a few users,
//! impersonation, and server-side apply's field ownership: `managedFields` per manager, shared
//! ownership of equal values, 409 with the real message on a conflict, `force` taking
//! ownership, and the removal of fields only the applier owned and no longer applies. Fault
//! switches: a LIST that fails, a store that corrupts what it keeps, a missing namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
use serde_json::{json, Map, Value};

/// The token of `admin` (group `system:masters`: everything, impersonation included).
pub const TOKEN: &str = "sha256~test-token";
/// The token of `nobody`: authenticated, no RBAC grant at all.
pub const NOBODY_TOKEN: &str = "sha256~nobody-token";
pub const NAMESPACE: &str = "openshift-config-managed";
const PREFIX: &str = "/api/v1/namespaces/openshift-config-managed/configmaps";
/// The media type server-side apply must be sent with (else 415).
const APPLY_PATCH: &str = "application/apply-patch+yaml";
/// The time the double gives every write (real ones are the wall clock).
const TIME: &str = "2025-01-01T00:00:00Z";

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub content_type: String,
    pub user_agent: String,
    /// The authenticated user (before impersonation), `None` for a refused token.
    pub user: Option<String>,
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Vec<String>,
}

/// The fields of a ConfigMap sigbundle's applies touch: `binaryData`, `data`, labels and
/// annotations, by key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    BinaryData(String),
    Data(String),
    Label(String),
    Annotation(String),
}

impl Field {
    fn path(&self) -> String {
        match self {
            Field::BinaryData(k) => format!(".binaryData.{k}"),
            Field::Data(k) => format!(".data.{k}"),
            Field::Label(k) => format!(".metadata.labels.{k}"),
            Field::Annotation(k) => format!(".metadata.annotations.{k}"),
        }
    }

    fn get<'a>(&self, obj: &'a Value) -> Option<&'a Value> {
        match self {
            Field::BinaryData(k) => obj.get("binaryData")?.get(k),
            Field::Data(k) => obj.get("data")?.get(k),
            Field::Label(k) => obj.get("metadata")?.get("labels")?.get(k),
            Field::Annotation(k) => obj.get("metadata")?.get("annotations")?.get(k),
        }
    }

    fn map<'a>(&self, obj: &'a mut Value) -> &'a mut Map<String, Value> {
        let (parent, name) = match self {
            Field::BinaryData(_) => (obj, "binaryData"),
            Field::Data(_) => (obj, "data"),
            Field::Label(_) => (&mut obj["metadata"], "labels"),
            Field::Annotation(_) => (&mut obj["metadata"], "annotations"),
        };
        parent
            .as_object_mut()
            .unwrap()
            .entry(name)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap()
    }

    fn key(&self) -> &str {
        match self {
            Field::BinaryData(k) | Field::Data(k) | Field::Label(k) | Field::Annotation(k) => k,
        }
    }

    /// Every field an object (or an apply patch) sets.
    fn all(obj: &Value) -> BTreeSet<Field> {
        let keys = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let mut out = BTreeSet::new();
        out.extend(keys(obj.get("binaryData")).into_iter().map(Field::BinaryData));
        out.extend(keys(obj.get("data")).into_iter().map(Field::Data));
        out.extend(keys(obj["metadata"].get("labels")).into_iter().map(Field::Label));
        out.extend(
            keys(obj["metadata"].get("annotations"))
                .into_iter()
                .map(Field::Annotation),
        );
        out
    }
}

/// One `managedFields` entry: a manager, how it wrote (`Apply` or `Update`), what it owns.
#[derive(Clone, Debug)]
pub struct Managed {
    pub manager: String,
    pub operation: &'static str,
    pub fields: BTreeSet<Field>,
}

/// Switches and state.
pub struct KubeState {
    /// name → ConfigMap object (without managedFields, which [`KubeState::managed`] keeps).
    pub objects: Mutex<BTreeMap<String, Value>>,
    /// name → its managedFields, in the order the managers first wrote.
    pub managed: Mutex<BTreeMap<String, Vec<Managed>>>,
    /// Every request: "METHOD path?query".
    pub log: Mutex<Vec<String>>,
    /// Every request with the headers that matter.
    pub requests: Mutex<Vec<Request>>,
    /// RBAC: user → verbs it may use on configmaps in the namespace (`admin` may do anything).
    pub grants: Mutex<BTreeMap<String, Vec<&'static str>>>,
    /// When false, the namespace does not exist (a plain Kubernetes cluster): creating
    /// answers 404 as kube-apiserver does.
    pub namespace_exists: AtomicBool,
    pub fail_list: AtomicUsize,
    pub corrupt_writes: AtomicBool,
    resource_version: AtomicU64,
}

impl Default for KubeState {
    fn default() -> KubeState {
        KubeState {
            objects: Mutex::default(),
            managed: Mutex::default(),
            log: Mutex::default(),
            requests: Mutex::default(),
            grants: Mutex::default(),
            namespace_exists: AtomicBool::new(true),
            fail_list: AtomicUsize::new(0),
            corrupt_writes: AtomicBool::new(false),
            resource_version: AtomicU64::new(100),
        }
    }
}

impl KubeState {
    /// Let `user` use `verbs` on configmaps in the namespace (a Role and RoleBinding).
    pub fn grant(&self, user: &str, verbs: &[&'static str]) {
        self.grants.lock().unwrap().insert(user.into(), verbs.to_vec());
    }

    /// The managers of a stored ConfigMap and what each owns, as `(manager, operation,
    /// [".binaryData.KEY", …])`.
    pub fn managers(&self, name: &str) -> Vec<(String, String, Vec<String>)> {
        self.managed
            .lock()
            .unwrap()
            .get(name)
            .map(|m| {
                m.iter()
                    .map(|e| {
                        (
                            e.manager.clone(),
                            e.operation.to_string(),
                            e.fields.iter().map(Field::path).collect(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn next_version(&self) -> String {
        (self.resource_version.fetch_add(1, Ordering::SeqCst) + 1).to_string()
    }
}

pub struct KubeApi {
    pub url: String,
    pub state: Arc<KubeState>,
    pub ca: PathBuf,
}

impl KubeApi {
    pub fn start(dir: &Path) -> KubeApi {
        let (cert, key) = (dir.join("apiserver.crt"), dir.join("apiserver.key"));
        let out = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("the openssl CLI is installed (.ci/run installs it)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
        acceptor.set_private_key_file(&key, SslFiletype::PEM).unwrap();
        acceptor.set_certificate_chain_file(&cert).unwrap();
        let acceptor = Arc::new(acceptor.build());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let state = Arc::new(KubeState::default());
        let st = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (acceptor, st) = (acceptor.clone(), st.clone());
                thread::spawn(move || {
                    if let Ok(tls) = acceptor.accept(stream) {
                        let _ = serve(tls, &st);
                    }
                });
            }
        });
        KubeApi { url, state, ca: cert }
    }

    /// A kubeconfig with three contexts: `admin` (the current one, user `admin-user`, the admin
    /// token), `nobody` (user `nobody`: a valid token without any RBAC grant) and `refused` (a
    /// token the server does not know).
    pub fn kubeconfig(&self, path: &Path) {
        self.kubeconfig_for(path, &self.url);
    }

    /// The same kubeconfig, naming `server` as the cluster's URL (with this server's CA).
    pub fn kubeconfig_for(&self, path: &Path, server: &str) {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&self.ca).unwrap());
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: admin-user\n  user:\n    token: {TOKEN}\n- name: nobody\n  user:\n    token: {NOBODY_TOKEN}\n- name: refused\n  user:\n    token: wrong\ncontexts:\n- name: admin\n  context:\n    cluster: test\n    user: admin-user\n- name: nobody\n  context:\n    cluster: test\n    user: nobody\n- name: refused\n  context:\n    cluster: test\n    user: refused\ncurrent-context: admin\n",
        );
        std::fs::write(path, text).unwrap();
    }

    /// Put a ConfigMap in place as another field manager would have: `operation` `Update` (a
    /// create or client-side `oc apply`) or `Apply` (server-side apply).
    pub fn seed_as(&self, name: &str, binary: &[(&str, &[u8])], manager: &str, operation: &'static str) {
        use base64::Engine;
        let mut data = Map::new();
        for (k, v) in binary {
            data.insert(
                k.to_string(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(v)),
            );
        }
        let obj = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": name, "namespace": NAMESPACE, "uid": uid(name), "resourceVersion": self.state.next_version(), "creationTimestamp": TIME, "labels": {"release.openshift.io/verification-signatures": ""}}, "binaryData": data});
        self.state.managed.lock().unwrap().insert(
            name.into(),
            vec![Managed {
                manager: manager.into(),
                operation,
                fields: Field::all(&obj),
            }],
        );
        self.state.objects.lock().unwrap().insert(name.into(), obj);
    }

    /// [`KubeApi::seed_as`] with operation `Update` (what `oc apply` and `oc create` leave).
    pub fn seed(&self, name: &str, binary: &[(&str, &[u8])], manager: &str) {
        self.seed_as(name, binary, manager, "Update");
    }

    /// One request straight to the double (to drive it as another client would), as admin:
    /// the status code and the JSON body.
    pub fn request(&self, method: &str, path_query: &str, content_type: &str, body: &str) -> (u16, Value) {
        use openssl::ssl::SslConnector;
        let mut c = SslConnector::builder(SslMethod::tls()).unwrap();
        c.set_ca_file(&self.ca).unwrap();
        let addr = self.url.trim_start_matches("https://");
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let mut tls = c.build().connect("127.0.0.1", tcp).unwrap();
        let req = format!(
            "{method} {path_query} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(req.as_bytes()).unwrap();
        let mut reader = BufReader::new(tls);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let code: u16 = status.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut len = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h == "\r\n" || h.is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut out = vec![0u8; len];
        reader.read_exact(&mut out).unwrap();
        (code, serde_json::from_slice(&out).unwrap())
    }

    /// Put a text key (`data`) into a stored ConfigMap, as `kubectl create configmap
    /// --from-literal` would (manager `kubectl-create`, operation Update).
    pub fn put_text(&self, name: &str, key: &str, text: &str) {
        let field = Field::Data(key.into());
        let mut objs = self.state.objects.lock().unwrap();
        field.map(objs.get_mut(name).unwrap()).insert(key.into(), json!(text));
        let mut managed = self.state.managed.lock().unwrap();
        managed.entry(name.to_string()).or_default().push(Managed {
            manager: "kubectl-create".into(),
            operation: "Update",
            fields: BTreeSet::from([field]),
        });
    }

    /// Take the label the cluster reads off a stored ConfigMap (as if made by hand).
    pub fn unlabel(&self, name: &str) {
        let label = Field::Label("release.openshift.io/verification-signatures".into());
        let mut objs = self.state.objects.lock().unwrap();
        label.map(objs.get_mut(name).unwrap()).remove(label.key());
        for m in self.state.managed.lock().unwrap().get_mut(name).unwrap() {
            m.fields.remove(&label);
        }
    }

    /// The decoded bytes of a key of a stored ConfigMap.
    pub fn bytes(&self, name: &str, key: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let objs = self.state.objects.lock().unwrap();
        let v = objs.get(name)?.get("binaryData")?.get(key)?.as_str()?.to_string();
        Some(base64::engine::general_purpose::STANDARD.decode(v).unwrap())
    }
}

/// A stable uid for a name (real ones are random UUIDs).
fn uid(name: &str) -> String {
    let h: u64 = name
        .bytes()
        .fold(0xcbf29ce484222325, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (h >> 4) & 0xfff,
        h & 0xffffffffffff
    )
}

/// A `Status` failure as kube-apiserver writes it.
fn status(code: u16, reason: &str, message: &str, details: Option<Value>) -> (u16, Value) {
    let mut v = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code});
    if let Some(d) = details {
        v["details"] = d;
    }
    (code, v)
}

/// RBAC's refusal, word for word.
fn forbidden(user: &str, verb: &str, name: Option<&str>) -> (u16, Value) {
    let what = match name {
        Some(n) => format!("configmaps \"{n}\""),
        None => "configmaps".to_string(),
    };
    let mut details = json!({"kind": "configmaps"});
    if let Some(n) = name {
        details["name"] = json!(n);
    }
    status(
        403,
        "Forbidden",
        &format!("{what} is forbidden: User \"{user}\" cannot {verb} resource \"configmaps\" in API group \"\" in the namespace \"{NAMESPACE}\""),
        Some(details),
    )
}

#[derive(Default)]
struct Head {
    len: usize,
    auth: String,
    content_type: String,
    user_agent: String,
    impersonate_user: Option<String>,
    impersonate_groups: Vec<String>,
}

fn serve<S: Read + Write>(stream: S, st: &KubeState) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut head = Head::default();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let v = v.trim().to_string();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => head.len = v.parse().unwrap_or(0),
                    "authorization" => head.auth = v,
                    "content-type" => head.content_type = v,
                    "user-agent" => head.user_agent = v,
                    "impersonate-user" => head.impersonate_user = Some(v),
                    "impersonate-group" => head.impersonate_groups.push(v),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; head.len];
        reader.read_exact(&mut body)?;
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        st.log.lock().unwrap().push(format!("{method} {target}"));
        let (code, value) = route(st, &method, &target, &head, &body);
        let text = serde_json::to_vec(&value).unwrap();
        let head = format!(
            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        let w = reader.get_mut();
        w.write_all(head.as_bytes())?;
        w.write_all(&text)?;
        w.flush()?;
    }
}

fn query(target: &str) -> BTreeMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.replace("%2F", "/").replace("%3A", ":")))
                .collect()
        })
        .unwrap_or_default()
}

/// Who the request acts as: the token's user, or the one it impersonates (if it may).
fn authenticate(st: &KubeState, method: &str, target: &str, head: &Head) -> Result<String, (u16, Value)> {
    // No credentials at all is the anonymous user (kube-apiserver's default); a token it does
    // not know is refused.
    let user = match head.auth.strip_prefix("Bearer ") {
        _ if head.auth.is_empty() => Some("system:anonymous"),
        Some(TOKEN) => Some("admin"),
        Some(NOBODY_TOKEN) => Some("nobody"),
        _ => None,
    };
    st.requests.lock().unwrap().push(Request {
        method: method.into(),
        target: target.into(),
        content_type: head.content_type.clone(),
        user_agent: head.user_agent.clone(),
        user: user.map(str::to_string),
        impersonate_user: head.impersonate_user.clone(),
        impersonate_groups: head.impersonate_groups.clone(),
    });
    let Some(user) = user else {
        return Err(status(401, "Unauthorized", "Unauthorized", None));
    };
    match &head.impersonate_user {
        None if !head.impersonate_groups.is_empty() => Err(status(
            400,
            "BadRequest",
            &format!(
                "requested [{}] without impersonating a user",
                head.impersonate_groups
                    .iter()
                    .map(|g| format!("{{Group  {g}    }}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            None,
        )),
        None => Ok(user.to_string()),
        Some(_) if user != "admin" => {
            let who = head.impersonate_user.as_deref().unwrap_or_default();
            Err(status(
                403,
                "Forbidden",
                &format!("users \"{who}\" is forbidden: User \"{user}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"),
                Some(json!({"name": who, "kind": "users"})),
            ))
        }
        Some(as_user) => Ok(as_user.clone()),
    }
}

fn may(st: &KubeState, user: &str, verb: &str) -> bool {
    user == "admin" || st.grants.lock().unwrap().get(user).is_some_and(|v| v.contains(&verb))
}

/// The object as the API returns it: with `managedFields`.
fn with_managed_fields(obj: &Value, managed: &[Managed]) -> Value {
    let mut out = obj.clone();
    let entries: Vec<Value> = managed
        .iter()
        .map(|m| {
            let update = m.operation == "Update";
            let mut f = Map::new();
            let mut meta = Map::new();
            for field in &m.fields {
                let (container, top) = match field {
                    Field::BinaryData(_) => ("f:binaryData", true),
                    Field::Data(_) => ("f:data", true),
                    Field::Label(_) => ("f:labels", false),
                    Field::Annotation(_) => ("f:annotations", false),
                };
                let parent = if top { &mut f } else { &mut meta };
                let c = parent.entry(container).or_insert_with(|| {
                    // An Update entry also owns the map itself ("."), an Apply entry does not.
                    if update {
                        json!({".": {}})
                    } else {
                        json!({})
                    }
                });
                c[format!("f:{}", field.key())] = json!({});
            }
            if !meta.is_empty() {
                f.insert("f:metadata".into(), Value::Object(meta));
            }
            json!({"manager": m.manager, "operation": m.operation, "apiVersion": "v1", "time": TIME, "fieldsType": "FieldsV1", "fieldsV1": f})
        })
        .collect();
    out["metadata"]["managedFields"] = Value::Array(entries);
    out
}

fn route(st: &KubeState, method: &str, target: &str, head: &Head, body: &[u8]) -> (u16, Value) {
    let user = match authenticate(st, method, target, head) {
        Ok(u) => u,
        Err(e) => return e,
    };
    let path = target.split('?').next().unwrap_or("");
    let q = query(target);
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        );
    };
    match (method, rest) {
        ("GET", "") => {
            if !may(st, &user, "list") {
                return forbidden(&user, "list", None);
            }
            if st
                .fail_list
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return status(500, "InternalError", "etcdserver: request timed out", None);
            }
            let selector = q.get("labelSelector").cloned().unwrap_or_default();
            let managed = st.managed.lock().unwrap();
            // Items of a list carry no kind or apiVersion; the list does.
            let items: Vec<Value> = st
                .objects
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, o)| selector.is_empty() || o["metadata"]["labels"].get(&selector).is_some())
                .map(|(n, o)| {
                    let mut o = with_managed_fields(o, managed.get(n).map(Vec::as_slice).unwrap_or(&[]));
                    let m = o.as_object_mut().unwrap();
                    m.remove("kind");
                    m.remove("apiVersion");
                    o
                })
                .collect();
            (
                200,
                json!({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": st.resource_version.load(Ordering::SeqCst).to_string()}, "items": items}),
            )
        }
        ("GET", name) => {
            let name = name.trim_start_matches('/');
            if !may(st, &user, "get") {
                return forbidden(&user, "get", Some(name));
            }
            let managed = st.managed.lock().unwrap();
            match st.objects.lock().unwrap().get(name) {
                Some(o) => (
                    200,
                    with_managed_fields(o, managed.get(name).map(Vec::as_slice).unwrap_or(&[])),
                ),
                None => status(
                    404,
                    "NotFound",
                    &format!("configmaps \"{name}\" not found"),
                    Some(json!({"name": name, "kind": "configmaps"})),
                ),
            }
        }
        ("PATCH", name) => patch(st, &user, name.trim_start_matches('/'), &q, head, body),
        _ => status(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            None,
        ),
    }
}

/// Server-side apply of one ConfigMap, as kube-apiserver does it.
fn patch(
    st: &KubeState,
    user: &str,
    name: &str,
    q: &BTreeMap<String, String>,
    head: &Head,
    body: &[u8],
) -> (u16, Value) {
    if !may(st, user, "patch") {
        return forbidden(user, "patch", Some(name));
    }
    assert_eq!(name.len(), 71, "only sha256-<hex> names: {name}");
    assert_ne!(name, "signatures-managed");
    if head.content_type != APPLY_PATCH {
        return status(
            415,
            "UnsupportedMediaType",
            "415: Unsupported Media Type",
            Some(json!({})),
        );
    }
    let manager = q.get("fieldManager").cloned().unwrap_or_default();
    if manager.is_empty() {
        return status(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            Some(
                json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]}),
            ),
        );
    }
    let force = q.get("force").is_some_and(|v| v == "true");
    let dry = match q.get("dryRun").map(String::as_str) {
        None => false,
        Some("All") => true,
        Some(other) => {
            let m = format!("Unsupported value: [\"{other}\"]: supported values: \"All\"");
            return status(
                422,
                "Invalid",
                &format!("PatchOptions.meta.k8s.io \"\" is invalid: dryRun: {m}"),
                Some(
                    json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{"reason": "FieldValueNotSupported", "message": m, "field": "dryRun"}]}),
                ),
            );
        }
    };
    let applied: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return status(400, "BadRequest", &e.to_string(), None),
    };
    if applied["metadata"]["name"].as_str() != Some(name) {
        return status(
            400,
            "BadRequest",
            "the name of the object (…) does not match the name on the URL",
            None,
        );
    }
    let mut objects = st.objects.lock().unwrap();
    let mut all_managed = st.managed.lock().unwrap();
    let existing = objects.get(name).cloned();
    let creating = existing.is_none();
    // A missing namespace is said before the create is authorized (as kube-apiserver does).
    if creating && !st.namespace_exists.load(Ordering::SeqCst) {
        return status(
            404,
            "NotFound",
            &format!("namespaces \"{NAMESPACE}\" not found"),
            Some(json!({"name": NAMESPACE, "kind": "namespaces"})),
        );
    }
    // An apply that creates is authorized as a create too (dry run or not).
    if creating && !may(st, user, "create") {
        return forbidden(user, "create", Some(name));
    }
    let mut obj = existing.unwrap_or_else(|| {
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": name, "namespace": NAMESPACE, "uid": uid(name), "creationTimestamp": TIME}})
    });
    let mut managed = all_managed.get(name).cloned().unwrap_or_default();
    let fields = Field::all(&applied);

    // Conflicts: a field this apply sets to another value, owned by another manager.
    let mut conflicts: Vec<(String, Field)> = Vec::new();
    // How the message names a manager: an Update one with its API version and time.
    let mut shown_as: BTreeMap<String, String> = BTreeMap::new();
    for f in &fields {
        let (Some(old), Some(new)) = (f.get(&obj), f.get(&applied)) else {
            continue;
        };
        if old == new {
            continue;
        }
        for m in managed.iter().filter(|m| m.manager != manager && m.fields.contains(f)) {
            conflicts.push((m.manager.clone(), f.clone()));
            if m.operation == "Update" {
                shown_as.insert(m.manager.clone(), format!("\"{}\" using v1 at {TIME}", m.manager));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        let named: Vec<(String, Field)> = conflicts
            .iter()
            .map(|(m, f)| {
                let shown = shown_as.get(m).cloned().unwrap_or_else(|| format!("\"{m}\""));
                (shown, f.clone())
            })
            .collect();
        return conflict_status(&named);
    }
    if force {
        for m in managed.iter_mut().filter(|m| m.manager != manager) {
            for (_, f) in conflicts.iter().filter(|(o, _)| o == &m.manager) {
                m.fields.remove(f);
            }
        }
    }
    // Fields this manager applied before and applies no more: removed unless another owns them.
    let before = managed
        .iter()
        .find(|m| m.manager == manager && m.operation == "Apply")
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    for f in before.difference(&fields) {
        if !managed
            .iter()
            .any(|m| !(m.manager == manager && m.operation == "Apply") && m.fields.contains(f))
        {
            f.map(&mut obj).remove(f.key());
        }
    }
    for f in &fields {
        let mut v = f.get(&applied).cloned().unwrap();
        if matches!(f, Field::BinaryData(_)) && st.corrupt_writes.load(Ordering::SeqCst) {
            v = Value::String("AAAA".into());
        }
        f.map(&mut obj).insert(f.key().to_string(), v);
    }
    managed.retain(|m| m.manager != manager || m.operation != "Apply");
    managed.retain(|m| !m.fields.is_empty());
    managed.push(Managed {
        manager: manager.clone(),
        operation: "Apply",
        fields,
    });
    // Validation: a key may not be in both data and binaryData (worded as the server words it).
    if let (Some(d), Some(b)) = (
        obj.get("data").and_then(Value::as_object),
        obj.get("binaryData").and_then(Value::as_object),
    ) {
        if let Some(k) = d.keys().find(|k| b.contains_key(*k)) {
            return status(
                422,
                "Invalid",
                &format!("ConfigMap \"{name}\" is invalid: data[{k}]: Invalid value: \"{k}\": duplicate of key present in binaryData"),
                Some(json!({"name": name, "kind": "ConfigMap", "causes": [{"reason": "FieldValueInvalid", "message": format!("Invalid value: \"{k}\": duplicate of key present in binaryData"), "field": format!("data[{k}]")}]})),
            );
        }
    }
    let changed = creating || objects.get(name) != Some(&obj);
    if changed && !dry {
        obj["metadata"]["resourceVersion"] = json!(st.next_version());
    }
    let shown = with_managed_fields(&obj, &managed);
    if !dry {
        objects.insert(name.to_string(), obj);
        all_managed.insert(name.to_string(), managed);
    }
    (if creating { 201 } else { 200 }, shown)
}

/// 409 as server-side apply words it (apimachinery's `managedfields/internal/conflict.go`):
/// one conflict on one line; several grouped by manager, managers sorted, one line each.
fn conflict_status(conflicts: &[(String, Field)]) -> (u16, Value) {
    let n = conflicts.len();
    let message = if n == 1 {
        let (m, f) = &conflicts[0];
        format!("Apply failed with 1 conflict: conflict with {m}: {}", f.path())
    } else {
        let mut by_manager: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (m, f) in conflicts {
            by_manager.entry(m).or_default().push(f.path());
        }
        let mut lines = Vec::new();
        for (m, fs) in by_manager {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(fs.iter().map(|f| format!("- {f}")));
        }
        format!("Apply failed with {n} conflicts: {}", lines.join("\n"))
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, f)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": f.path()}))
        .collect();
    status(409, "Conflict", &message, Some(json!({"causes": causes})))
}
