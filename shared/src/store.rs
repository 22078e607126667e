//! Signature stores: read `<store>/sha256=<hex>/signature-<N>` from a directory or over
//! HTTP(S), as the cluster does (N = 1, 2, … until the first 404, at most 9; an empty body or a
//! failed request for one N does not end the search, as it does not for the cluster), with
//! timeouts, retries with backoff and jitter, and redirects only to https or the same host.
//! Signatures already made into ConfigMaps (a file `oc-mirror` or `oc` wrote, or a folder of
//! `oc`'s files) are a store too, read once when named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::digest::Digest;
use crate::verify::{MAX_SIGNATURES, MAX_SIGNATURE_BYTES};

/// Red Hat's two signature stores, tried in this order by default.
pub const RED_HAT_STORES: &[&str] = &[
    "https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release",
    "https://storage.googleapis.com/openshift-release/official/signatures/openshift/release",
];

/// Why signatures could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid store {input:?}: {reason}")]
    BadStore { input: String, reason: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {cause}")]
    Network { url: String, cause: String },
    #[error("{url}: body larger than {MAX_SIGNATURE_BYTES} bytes; refusing it rather than truncating")]
    TooLarge { url: String },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("store {path}: {reason}")]
    NotAStore { path: PathBuf, reason: String },
    #[error("cannot read CA file {path}: {reason}")]
    Ca { path: PathBuf, reason: String },
    #[error("cannot set up the HTTP client: {reason}")]
    Client { reason: String },
    #[error("{path}: {reason}")]
    ConfigMap { path: PathBuf, reason: String },
}

/// A signature store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// A folder in the mirror layout.
    Dir(PathBuf),
    /// An http(s) base URL (no trailing slash).
    Http(String),
    /// Signature ConfigMaps already made: one file (oc-mirror's `signature-configmap.json` or
    /// `.yaml`, or one of `oc`'s `signature-sha256-*.json`), or a folder of them; read whole
    /// when named, each release's signatures in key order.
    ConfigMaps {
        path: PathBuf,
        signatures: Arc<BTreeMap<Digest, Vec<Vec<u8>>>>,
    },
}

/// The most a ConfigMap file may hold to be read as a store (a ConfigMap holds at most 1 MiB;
/// YAML or indented JSON may be larger).
const MAX_CONFIGMAP_FILE: u64 = 16 << 20;

/// Whether `name` is a ConfigMap file `oc` or `oc-mirror` (or `unpack emit`) writes:
/// `signature-sha256-<16 hex>.json|yaml` or `signature-configmap[-N].json|yaml`.
fn is_configmap_file(name: &str, ext: &str) -> bool {
    let Some(stem) = name.strip_suffix(ext) else {
        return false;
    };
    let hex16 = |h: &str| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit());
    let part = |p: &str| {
        p.is_empty()
            || p.strip_prefix('-')
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    stem.strip_prefix("signature-sha256-").is_some_and(hex16)
        || stem.strip_prefix("signature-configmap").is_some_and(part)
}

/// Read signature ConfigMaps from a file, or from every ConfigMap file in a folder (the `.json`
/// ones; the `.yaml` ones when there are none, so oc-mirror's two copies are read once).
fn load_configmaps(path: &Path) -> Result<Store, StoreError> {
    let bad = |reason: String| StoreError::ConfigMap {
        path: path.to_path_buf(),
        reason,
    };
    let files: Vec<PathBuf> = if path.is_dir() {
        let names: Vec<String> = std::fs::read_dir(path)
            .map_err(|source| StoreError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        let of = |ext: &str| {
            let mut v: Vec<&String> = names.iter().filter(|n| is_configmap_file(n, ext)).collect();
            v.sort();
            v.into_iter().map(|n| path.join(n)).collect::<Vec<_>>()
        };
        let json = of(".json");
        if json.is_empty() {
            of(".yaml")
        } else {
            json
        }
    } else {
        vec![path.to_path_buf()]
    };
    let mut signatures: BTreeMap<Digest, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
    for file in &files {
        use std::io::Read;
        let mut bytes = Vec::new();
        std::fs::File::open(file)
            .and_then(|f| f.take(MAX_CONFIGMAP_FILE + 1).read_to_end(&mut bytes))
            .map_err(|source| StoreError::Io {
                path: file.clone(),
                source,
            })?;
        if bytes.len() as u64 > MAX_CONFIGMAP_FILE {
            return Err(StoreError::ConfigMap {
                path: file.clone(),
                reason: format!("larger than {MAX_CONFIGMAP_FILE} bytes; not a ConfigMap"),
            });
        }
        let found = crate::configmap::read_signatures(&bytes).map_err(|reason| StoreError::ConfigMap {
            path: file.clone(),
            reason,
        })?;
        for (digest, n, body) in found {
            if body.len() as u64 > MAX_SIGNATURE_BYTES {
                return Err(StoreError::TooLarge {
                    url: format!("{} (key sha256-{}-{n})", file.display(), digest.hex()),
                });
            }
            let sigs = signatures.entry(digest).or_default();
            if !sigs.iter().any(|(_, b)| *b == body) {
                sigs.push((n, body));
            }
        }
    }
    if signatures.is_empty() {
        return Err(bad(
            "no signature ConfigMap with a sha256-<digest>-<N> key in it (a file oc-mirror or `oc adm release mirror` wrote, or a folder of them)".into(),
        ));
    }
    let signatures = signatures
        .into_iter()
        .map(|(d, mut v)| {
            v.sort_by_key(|(n, _)| *n);
            (d, v.into_iter().map(|(_, b)| b).collect())
        })
        .collect();
    Ok(Store::ConfigMaps {
        path: path.to_path_buf(),
        signatures: Arc::new(signatures),
    })
}

impl Store {
    /// `http://…` or `https://…` is a URL, `file://…` or anything else a folder.
    pub fn parse(input: &str) -> Result<Store, StoreError> {
        if input.starts_with("http://") || input.starts_with("https://") {
            let url = reqwest::Url::parse(input).map_err(|e| StoreError::BadStore {
                input: input.to_string(),
                reason: e.to_string(),
            })?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(StoreError::BadStore {
                    input: input.to_string(),
                    reason: "a store URL takes no query or fragment".into(),
                });
            }
            Ok(Store::Http(input.trim_end_matches('/').to_string()))
        } else if input.contains("://") && !input.starts_with("file://") {
            Err(StoreError::BadStore {
                input: input.to_string(),
                reason: "only http://, https:// and file:// stores (or a folder) are supported".into(),
            })
        } else {
            let path = PathBuf::from(input.strip_prefix("file://").unwrap_or(input));
            if path.is_file() || Store::holds_configmaps(&path) {
                load_configmaps(&path)
            } else {
                Ok(Store::Dir(path))
            }
        }
    }

    /// A folder of ConfigMap files and no `sha256=<hex>` folder: signatures `oc` or `oc-mirror`
    /// wrote as ConfigMaps, not a store in the mirror layout.
    fn holds_configmaps(path: &Path) -> bool {
        let Ok(entries) = std::fs::read_dir(path) else {
            return false;
        };
        let mut configmaps = false;
        for e in entries.take(100_000).flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("sha256=") {
                return false;
            }
            configmaps |= is_configmap_file(&name, ".json") || is_configmap_file(&name, ".yaml");
        }
        configmaps
    }

    /// The default stores.
    pub fn red_hat() -> Vec<Store> {
        RED_HAT_STORES.iter().map(|s| Store::Http((*s).to_string())).collect()
    }

    /// A store folder must exist and look like one: at least one `sha256=<64 hex>` folder,
    /// the layout `oc adm release mirror --release-image-signature-to-dir` writes. A mistyped
    /// path or the folder above a store would otherwise read as "no signature" for every
    /// release. URLs are checked when fetched.
    pub fn check(&self) -> Result<(), StoreError> {
        let Store::Dir(dir) = self else { return Ok(()) };
        let not_a_store = |reason: String| StoreError::NotAStore {
            path: dir.clone(),
            reason,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| not_a_store(format!("cannot read it: {e}")))?;
        let is_digest_dir = |name: &std::ffi::OsStr| {
            name.to_str()
                .and_then(|n| n.strip_prefix("sha256="))
                .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        };
        let mut below = None;
        // A bounded look: a store folder of 100,000 releases is read only until its first one.
        for entry in entries.take(100_000) {
            let Ok(entry) = entry else { continue };
            if is_digest_dir(&entry.file_name()) {
                return Ok(());
            }
            if entry.path().is_dir() {
                let holds_store = std::fs::read_dir(entry.path())
                    .map(|e| e.take(1000).any(|e| e.is_ok_and(|e| is_digest_dir(&e.file_name()))))
                    .unwrap_or(false);
                if holds_store && below.as_ref().is_none_or(|b: &PathBuf| entry.path() < *b) {
                    below = Some(entry.path());
                }
            }
        }
        Err(not_a_store(match below {
            Some(p) => format!(
                "not a signature store (no sha256=<digest> folders); {} is one",
                p.display()
            ),
            None => "not a signature store (no sha256=<digest> folders in it, and no signature ConfigMap files: signature-sha256-*.json as oc writes them, or oc-mirror's signature-configmap.json)".into(),
        }))
    }

    /// Where signature `n` of `digest` lives in this store.
    pub fn location(&self, digest: &Digest, n: usize) -> String {
        match self {
            Store::Dir(d) => d.join(digest.signature_file(n)).display().to_string(),
            Store::Http(u) => format!("{u}/{}", digest.signature_file(n)),
            Store::ConfigMaps { path, .. } => format!("{} (signature {n} of {digest})", path.display()),
        }
    }
}

impl std::fmt::Display for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Dir(d) => write!(f, "{}", d.display()),
            Store::Http(u) => f.write_str(u),
            Store::ConfigMaps { path, .. } => write!(f, "{}", path.display()),
        }
    }
}

/// HTTP behaviour.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Per-request timeout (connect + whole body).
    pub timeout: Duration,
    /// Retries after the first attempt, on timeouts, connection errors and 5xx.
    pub retries: u32,
    /// First backoff; doubled each retry, with up to 50% jitter.
    pub backoff: Duration,
    /// Extra CA certificates (PEM) for private stores.
    pub ca_file: Option<PathBuf>,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(250),
            ca_file: None,
        }
    }
}

/// What one store gave for one release: the bodies by their N, and the N it could not read.
#[derive(Debug, Default)]
pub struct Fetched {
    pub bodies: Vec<(usize, Vec<u8>)>,
    /// Requests that failed (after retries) while the search went on; the release may still be
    /// complete without them, but the store did not give everything it holds.
    pub failed: Vec<(usize, StoreError)>,
}

/// Fetches signatures; one per run, so HTTP connections are pooled and reused.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    cfg: FetchConfig,
}

/// The outcome of one attempt at one URL.
enum Attempt {
    Body(Vec<u8>),
    NotFound,
    Retryable(StoreError),
    Fatal(StoreError),
}

impl Fetcher {
    /// Build the HTTP client: pooled, timeouts, proxies from the environment, safe redirects.
    pub fn new(cfg: FetchConfig) -> Result<Fetcher, StoreError> {
        let redirect = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error("too many redirects");
            }
            let same_host = attempt.previous().first().is_some_and(|first| {
                first.host_str() == attempt.url().host_str()
                    && first.port_or_known_default() == attempt.url().port_or_known_default()
            });
            if attempt.url().scheme() == "https" || same_host {
                attempt.follow()
            } else {
                let to = attempt.url().to_string();
                attempt.error(format!("refusing redirect to {to}: only https or the same host"))
            }
        });
        let mut b = reqwest::Client::builder()
            .user_agent(crate::manifest::TOOL_VERSION.replace(' ', "/"))
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout)
            .redirect(redirect)
            .pool_max_idle_per_host(64);
        if let Some(path) = &cfg.ca_file {
            let pem = std::fs::read(path).map_err(|e| StoreError::Ca {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            for c in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| StoreError::Ca {
                path: path.clone(),
                reason: e.to_string(),
            })? {
                b = b.add_root_certificate(c);
            }
        }
        let client = b.build().map_err(|e| StoreError::Client { reason: e.to_string() })?;
        Ok(Fetcher { client, cfg })
    }

    /// The HTTP client, for other fetchers of this run (registry, update service).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// All signatures of `digest` in `store`, in store order: N = 1, 2, … until the first
    /// missing one, at most [`MAX_SIGNATURES`]. Like the cluster, an empty body is skipped and a
    /// failed request does not end the search, except that a network failure (the store is not
    /// answering) ends it; a store that gave nothing but failures is an error.
    pub async fn fetch(&self, store: &Store, digest: &Digest) -> Result<Fetched, StoreError> {
        let mut out = Fetched::default();
        if let Store::ConfigMaps { signatures, .. } = store {
            // The cluster reads every key of a ConfigMap; a bundle holds what it reads from a
            // store, the first MAX_SIGNATURES.
            let sigs = signatures.get(digest).map_or(&[][..], |v| v.as_slice());
            out.bodies = sigs
                .iter()
                .take(MAX_SIGNATURES)
                .enumerate()
                .map(|(i, b)| (i + 1, b.clone()))
                .collect();
            return Ok(out);
        }
        for n in 1..=MAX_SIGNATURES {
            let got = match store {
                Store::Dir(dir) => read_dir_signature(dir, digest, n),
                Store::Http(_) => self.get_with_retries(&store.location(digest, n)).await,
                Store::ConfigMaps { .. } => unreachable!("answered above"),
            };
            match got {
                Ok(Some(body)) if body.is_empty() => {}
                Ok(Some(body)) => out.bodies.push((n, body)),
                Ok(None) => break,
                Err(e) => {
                    let unreachable = matches!(e, StoreError::Network { .. });
                    out.failed.push((n, e));
                    if unreachable {
                        break;
                    }
                }
            }
        }
        if out.bodies.is_empty() && !out.failed.is_empty() {
            return Err(out.failed.swap_remove(0).1);
        }
        Ok(out)
    }

    /// GET a URL: `Some(body)`, `None` on 404 (or 403 with an empty listing, as GCS answers),
    /// an error otherwise; retried on timeouts, connection errors and 5xx.
    pub async fn get_with_retries(&self, url: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut delay = self.cfg.backoff;
        let mut attempt = 0;
        loop {
            match self.get_once(url).await {
                Attempt::Body(b) => return Ok(Some(b)),
                Attempt::NotFound => return Ok(None),
                Attempt::Fatal(e) => return Err(e),
                Attempt::Retryable(e) => {
                    if attempt >= self.cfg.retries {
                        return Err(e);
                    }
                    attempt += 1;
                    tokio::time::sleep(delay + jitter(delay)).await;
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }

    async fn get_once(&self, url: &str) -> Attempt {
        let net = |e: reqwest::Error| StoreError::Network {
            url: url.to_string(),
            cause: crate::text::error_chain(&e),
        };
        let mut resp = match self.client.get(url).send().await {
            Ok(r) => r,
            Err(e) if e.is_redirect() || e.is_builder() => return Attempt::Fatal(net(e)),
            Err(e) => return Attempt::Retryable(net(e)),
        };
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Attempt::NotFound;
        }
        if !status.is_success() {
            let e = StoreError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            };
            return if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                Attempt::Retryable(e)
            } else {
                Attempt::Fatal(e)
            };
        }
        if resp.content_length().is_some_and(|l| l > MAX_SIGNATURE_BYTES) {
            return Attempt::Fatal(StoreError::TooLarge { url: url.to_string() });
        }
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    body.extend_from_slice(&c);
                    if body.len() as u64 > MAX_SIGNATURE_BYTES {
                        return Attempt::Fatal(StoreError::TooLarge { url: url.to_string() });
                    }
                }
                Ok(None) => return Attempt::Body(body),
                Err(e) => return Attempt::Retryable(net(e)),
            }
        }
    }
}

/// Read signature `n` of `digest` from a folder store; `None` when it does not exist.
fn read_dir_signature(dir: &Path, digest: &Digest, n: usize) -> Result<Option<Vec<u8>>, StoreError> {
    use std::io::Read;
    let path = dir.join(digest.signature_file(n));
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoreError::Io { path, source }),
    };
    let mut body = Vec::new();
    file.take(MAX_SIGNATURE_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
    if body.len() as u64 > MAX_SIGNATURE_BYTES {
        return Err(StoreError::TooLarge {
            url: path.display().to_string(),
        });
    }
    Ok(Some(body))
}

/// Up to half of `d`, from the clock's low bits (enough to spread retries apart).
pub(crate) fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    d.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stores() {
        assert_eq!(
            Store::parse("https://x.example/sigs/").unwrap(),
            Store::Http("https://x.example/sigs".into())
        );
        assert_eq!(
            Store::parse("file:///srv/sigs").unwrap(),
            Store::Dir("/srv/sigs".into())
        );
        assert_eq!(Store::parse("sigs").unwrap(), Store::Dir("sigs".into()));
        assert!(Store::parse("ftp://x/y").is_err());
        let d = Digest::parse(&format!("sha256:{}", "0".repeat(64))).unwrap();
        assert_eq!(
            Store::parse("http://h/s").unwrap().location(&d, 2),
            format!("http://h/s/sha256={}/signature-2", "0".repeat(64))
        );
    }
}
