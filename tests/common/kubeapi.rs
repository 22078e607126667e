//! A loopback HTTPS server that speaks the part of the Kubernetes API `unpack apply` uses:
//! ConfigMaps in one namespace (GET, LIST with a label selector, server-side-apply PATCH with
//! `fieldManager`, `force`, `dryRun`), bearer-token auth, per-key field ownership (409 on a
//! conflict), and fault switches (403, 500, a store that corrupts what it keeps). No real API
//! server runs on these machines; this keeps state like one for the calls made.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use openssl::ssl::{SslAcceptor, SslFiletype, SslMethod};
use serde_json::{json, Value};

pub const TOKEN: &str = "sha256~test-token";

/// Switches and state.
#[derive(Default)]
pub struct KubeState {
    /// name → ConfigMap object.
    pub objects: Mutex<BTreeMap<String, Value>>,
    /// (name, binaryData key) → field manager.
    pub owners: Mutex<BTreeMap<(String, String), String>>,
    /// Every request: "METHOD path?query".
    pub log: Mutex<Vec<String>>,
    pub forbid_patch: AtomicBool,
    pub fail_list: AtomicUsize,
    pub corrupt_writes: AtomicBool,
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

    /// A kubeconfig with two contexts: `admin` (the current one, good token) and `nobody`
    /// (a refused token).
    pub fn kubeconfig(&self, path: &Path) {
        use base64::Engine;
        let ca = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&self.ca).unwrap());
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: admin-user\n  user:\n    token: {TOKEN}\n- name: nobody\n  user:\n    token: wrong\ncontexts:\n- name: admin\n  context:\n    cluster: test\n    user: admin-user\n- name: nobody\n  context:\n    cluster: test\n    user: nobody\ncurrent-context: admin\n",
            self.url
        );
        std::fs::write(path, text).unwrap();
    }

    /// Put a ConfigMap in place as another field manager would have.
    pub fn seed(&self, name: &str, binary: &[(&str, &[u8])], manager: &str) {
        use base64::Engine;
        let mut data = serde_json::Map::new();
        for (k, v) in binary {
            data.insert(
                k.to_string(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(v)),
            );
            self.state
                .owners
                .lock()
                .unwrap()
                .insert((name.into(), k.to_string()), manager.into());
        }
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "openshift-config-managed", "labels": {"release.openshift.io/verification-signatures": ""}, "resourceVersion": "1"}, "binaryData": data});
        self.state.objects.lock().unwrap().insert(name.into(), obj);
    }

    /// The decoded bytes of a key of a stored ConfigMap.
    pub fn bytes(&self, name: &str, key: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let objs = self.state.objects.lock().unwrap();
        let v = objs.get(name)?.get("binaryData")?.get(key)?.as_str()?.to_string();
        Some(base64::engine::general_purpose::STANDARD.decode(v).unwrap())
    }
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}),
    )
}

const PREFIX: &str = "/api/v1/namespaces/openshift-config-managed/configmaps";

fn serve<S: Read + Write>(stream: S, st: &KubeState) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let (mut len, mut auth) = (0usize, String::new());
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    "authorization" => auth = v.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        st.log.lock().unwrap().push(format!("{method} {target}"));
        let (code, value) = route(st, &method, &target, &auth, &body);
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
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn route(st: &KubeState, method: &str, target: &str, auth: &str, body: &[u8]) -> (u16, Value) {
    if auth != format!("Bearer {TOKEN}") {
        return status(401, "Unauthorized", "Unauthorized");
    }
    let path = target.split('?').next().unwrap_or("");
    let q = query(target);
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return status(
            404,
            "NotFound",
            &format!("the server could not find the requested resource {path}"),
        );
    };
    match (method, rest) {
        ("GET", "") => {
            if st
                .fail_list
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return status(500, "InternalError", "etcdserver: request timed out");
            }
            let selector = q.get("labelSelector").cloned().unwrap_or_default().replace("%2F", "/");
            let items: Vec<Value> = st
                .objects
                .lock()
                .unwrap()
                .values()
                .filter(|o| selector.is_empty() || o["metadata"]["labels"].get(&selector).is_some())
                .cloned()
                .collect();
            (
                200,
                json!({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "9"}, "items": items}),
            )
        }
        ("GET", name) => {
            let name = name.trim_start_matches('/');
            match st.objects.lock().unwrap().get(name) {
                Some(o) => (200, o.clone()),
                None => status(404, "NotFound", &format!("configmaps \"{name}\" not found")),
            }
        }
        ("PATCH", name) => {
            let name = name.trim_start_matches('/').to_string();
            if st.forbid_patch.load(Ordering::SeqCst) {
                return status(403, "Forbidden", &format!("configmaps \"{name}\" is forbidden: User \"bob\" cannot patch resource \"configmaps\" in API group \"\" in the namespace \"openshift-config-managed\""));
            }
            assert_eq!(name.len(), 71, "only sha256-<hex> names: {name}");
            assert_ne!(name, "signatures-managed");
            let manager = q.get("fieldManager").cloned().unwrap_or_default();
            let force = q.get("force").is_some_and(|v| v == "true");
            let dry = q.get("dryRun").is_some_and(|v| v == "All");
            let patch: Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => return status(400, "BadRequest", &e.to_string()),
            };
            let mut objects = st.objects.lock().unwrap();
            let mut owners = st.owners.lock().unwrap();
            let mut obj = objects.get(&name).cloned().unwrap_or_else(|| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "openshift-config-managed"}}));
            let empty = serde_json::Map::new();
            let patch_data = patch["binaryData"].as_object().unwrap_or(&empty).clone();
            let mut conflicts = Vec::new();
            for (k, v) in &patch_data {
                if let (Some(old), Some(owner)) = (obj["binaryData"].get(k), owners.get(&(name.clone(), k.clone()))) {
                    if old != v && owner != &manager && !force {
                        conflicts.push(format!(".binaryData.{k} (owned by {owner})"));
                    }
                }
            }
            if !conflicts.is_empty() {
                return status(
                    409,
                    "Conflict",
                    &format!(
                        "Apply failed with {} conflict(s): {}",
                        conflicts.len(),
                        conflicts.join(", ")
                    ),
                );
            }
            for field in ["labels", "annotations"] {
                if let Some(m) = patch["metadata"][field].as_object() {
                    let target = obj["metadata"]
                        .as_object_mut()
                        .unwrap()
                        .entry(field)
                        .or_insert_with(|| json!({}));
                    for (k, v) in m {
                        target[k] = v.clone();
                    }
                }
            }
            let data = obj
                .as_object_mut()
                .unwrap()
                .entry("binaryData")
                .or_insert_with(|| json!({}));
            for (k, v) in &patch_data {
                let v = if st.corrupt_writes.load(Ordering::SeqCst) {
                    Value::String("AAAA".into())
                } else {
                    v.clone()
                };
                data[k] = v;
            }
            if !dry {
                for k in patch_data.keys() {
                    owners.insert((name.clone(), k.clone()), manager.clone());
                }
                objects.insert(name, obj.clone());
            }
            (200, obj)
        }
        _ => status(405, "MethodNotAllowed", method),
    }
}
