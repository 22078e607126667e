//! The registry API: pullspecs by tag resolved to digests (`HEAD/GET
//! /v2/<repo>/manifests/<tag>`), manifests and blobs fetched with size caps, blobs and
//! manifests pushed; with the anonymous bearer-token challenge flow, basic auth, pull secrets
//! from `auth.json` files found the way podman finds them, and retries.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use serde::Deserialize;

use crate::digest::{Digest, Pullspec};

/// The manifest media types a release tag may point at: the multi-arch index/list first.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// The largest manifest read (containers/image's `MaxManifestBodySize`).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// Why a registry request failed. `what` names the request's purpose and object
/// (`resolving quay.io/…:4.15.0-x86_64`, `fetching …`, `pushing …`).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read auth file {path}: {reason}")]
    AuthFile { path: PathBuf, reason: String },
    #[error("cannot read registry CA {path}: {reason}")]
    Ca { path: PathBuf, reason: String },
    #[error("{what}: {url}: HTTP {status}{hint}")]
    Status {
        what: String,
        url: String,
        status: u16,
        hint: String,
    },
    #[error("{what}: {url}: {cause}")]
    Network { what: String, url: String, cause: String },
    #[error("{what}: {reason}")]
    Protocol { what: String, reason: String },
    #[error("{what}: {url}: larger than the {limit}-byte limit; not read")]
    TooLarge { what: String, url: String, limit: u64 },
    #[error("cannot set up the registry client: {reason}")]
    Client { reason: String },
}

/// Credentials for one registry: `user:password`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct AuthJson {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// Pull secrets from an `auth.json` / `config.json`.
#[derive(Debug, Clone, Default)]
pub struct AuthFile {
    entries: BTreeMap<String, Credentials>,
    pub path: Option<PathBuf>,
}

impl AuthFile {
    /// Parse an auth file's bytes (`{"auths": {"host[/repo]": {"auth": base64(user:pass)}}}`).
    pub fn parse(bytes: &[u8], path: &Path) -> Result<AuthFile, RegistryError> {
        let err = |reason: String| RegistryError::AuthFile {
            path: path.to_path_buf(),
            reason,
        };
        let json: AuthJson = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        let mut entries = BTreeMap::new();
        for (key, e) in json.auths {
            let creds = if let Some(auth) = e.auth.filter(|a| !a.is_empty()) {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .map_err(|_| err(format!("entry {key:?}: \"auth\" is not base64")))?;
                let s = String::from_utf8(raw).map_err(|_| err(format!("entry {key:?}: \"auth\" is not UTF-8")))?;
                let (u, p) = s
                    .split_once(':')
                    .ok_or_else(|| err(format!("entry {key:?}: \"auth\" is not user:password")))?;
                Credentials {
                    user: u.to_string(),
                    password: p.to_string(),
                }
            } else if let (Some(u), Some(p)) = (e.username, e.password) {
                Credentials { user: u, password: p }
            } else {
                continue;
            };
            let norm = key
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .trim_end_matches("/v1")
                .trim_end_matches("/v2")
                .to_string();
            entries.insert(norm, creds);
        }
        Ok(AuthFile {
            entries,
            path: Some(path.to_path_buf()),
        })
    }

    /// Read one file.
    pub fn from_file(path: &Path) -> Result<AuthFile, RegistryError> {
        let bytes = std::fs::read(path).map_err(|e| RegistryError::AuthFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        AuthFile::parse(&bytes, path)
    }

    /// The default lookup, as podman does it: `$REGISTRY_AUTH_FILE`,
    /// `${XDG_RUNTIME_DIR}/containers/auth.json`, `~/.docker/config.json`; the first that
    /// exists is used; none is no credentials.
    pub fn discover() -> Result<AuthFile, RegistryError> {
        let mut candidates = Vec::new();
        if let Some(p) = std::env::var_os("REGISTRY_AUTH_FILE") {
            candidates.push(PathBuf::from(p));
        }
        if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
            candidates.push(PathBuf::from(d).join("containers/auth.json"));
        }
        if let Some(h) = std::env::var_os("HOME") {
            candidates.push(PathBuf::from(h).join(".docker/config.json"));
        }
        for c in candidates {
            if c.is_file() {
                return AuthFile::from_file(&c);
            }
        }
        Ok(AuthFile::default())
    }

    /// Credentials for `registry/repository`: the most specific key wins (`host/ns/repo`, then
    /// `host/ns`, then `host`), as podman matches them.
    pub fn lookup(&self, registry: &str, repository: &str) -> Option<&Credentials> {
        let mut key = format!("{registry}/{repository}");
        loop {
            if let Some(c) = self.entries.get(&key) {
                return Some(c);
            }
            match key.rsplit_once('/') {
                Some((head, _)) => key = head.to_string(),
                None => return None,
            }
        }
    }
}

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryConfig {
    pub auth: AuthFile,
    /// Hosts (host or host:port) reached over plain HTTP.
    pub insecure: Vec<String>,
    /// Extra CA certificates (PEM) for registries.
    pub ca_file: Option<PathBuf>,
    pub timeout: Option<std::time::Duration>,
    /// Retries after the first attempt, on timeouts, connection errors, 429 and 5xx (never on
    /// 404 or another 4xx), with the backoff signature stores use.
    pub retries: u32,
}

/// The registry API client: tags resolved to digests, manifests and blobs read with a size cap
/// before any byte is kept, blobs and manifests pushed. Tokens are asked for once per
/// repository and kind of access, and reused.
#[derive(Clone)]
pub struct Registry {
    /// Built on first use (shared by clones): loading the system's CA certificates costs
    /// OpenSSL 3 tens of milliseconds, which a pack of bare digests never needs.
    client: Arc<OnceLock<reqwest::Client>>,
    /// Extra roots from `ca_file`, read and checked up front.
    roots: Vec<reqwest::Certificate>,
    cfg: RegistryConfig,
    /// `Authorization` values by (registry, repository, push access).
    tokens: Arc<Mutex<Tokens>>,
}

/// `Authorization` values by (registry, repository, push access).
type Tokens = HashMap<(String, String, bool), String>;

/// A parsed `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge.
fn parse_challenge(h: &str) -> Option<(String, BTreeMap<String, String>)> {
    let (scheme, rest) = h.trim().split_once(' ').unwrap_or((h.trim(), ""));
    let mut params = BTreeMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (k, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (v, tail) = if let Some(q) = after.strip_prefix('"') {
            let (v, tail) = q.split_once('"')?;
            (v.to_string(), tail)
        } else {
            let (v, tail) = after.split_at(after.find(',').unwrap_or(after.len()));
            (v.trim().to_string(), tail)
        };
        params.insert(k.trim().to_ascii_lowercase(), v);
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some((scheme.to_ascii_lowercase(), params))
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// A manifest as a registry served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestBody {
    pub bytes: Vec<u8>,
    /// The first `Content-Type` value, as received ("" when there was none).
    pub content_type: String,
}

/// One request, as [`Registry::send`] sends it (again on a retry, or after a challenge).
struct Request<'a> {
    /// What it is for, for errors: `fetching quay.io/…@sha256:…`.
    what: &'a str,
    repo: &'a Pullspec,
    push: bool,
    method: reqwest::Method,
    url: String,
    headers: Vec<(reqwest::header::HeaderName, String)>,
    body: Option<&'a [u8]>,
}

impl Registry {
    pub fn new(cfg: RegistryConfig) -> Result<Registry, RegistryError> {
        let mut roots = Vec::new();
        if let Some(path) = &cfg.ca_file {
            let pem = std::fs::read(path).map_err(|e| RegistryError::Ca {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| RegistryError::Ca {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            roots = certs;
        }
        Ok(Registry {
            client: Arc::default(),
            roots,
            cfg,
            tokens: Arc::default(),
        })
    }

    fn client(&self) -> Result<&reqwest::Client, RegistryError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let mut b = reqwest::Client::builder()
            .user_agent(crate::manifest::TOOL_VERSION.replace(' ', "/"))
            .timeout(self.cfg.timeout.unwrap_or(std::time::Duration::from_secs(30)))
            .pool_max_idle_per_host(64);
        for c in &self.roots {
            b = b.add_root_certificate(c.clone());
        }
        let built = b.build().map_err(|e| RegistryError::Client { reason: e.to_string() })?;
        // Two tasks may build one each at first; both work, the first stored is kept.
        Ok(self.client.get_or_init(|| built))
    }

    fn scheme(&self, registry: &str) -> &'static str {
        if self.cfg.insecure.iter().any(|h| h == registry) {
            "http"
        } else {
            "https"
        }
    }

    /// `scheme://registry/v2/repository/` + `path`.
    fn url(&self, repo: &Pullspec, path: &str) -> String {
        format!(
            "{}://{}/v2/{}/{path}",
            self.scheme(&repo.registry),
            repo.registry,
            repo.repository
        )
    }

    /// Send a request: with the cached token of its repository and access, a 401 answered once
    /// (basic with the pull secret, or a bearer token from the challenge's realm), and retries
    /// with backoff on timeouts, connection errors, 429 and 5xx. Any other answer is the
    /// caller's to judge (after the retries, a 5xx too).
    async fn send(&self, req: &Request<'_>) -> Result<reqwest::Response, RegistryError> {
        let key = (req.repo.registry.clone(), req.repo.repository.clone(), req.push);
        let cached = || self.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
        let mut auth = cached();
        let mut answered = false;
        let mut delay = std::time::Duration::from_millis(250);
        let mut attempt = 0;
        loop {
            let mut b = self.client()?.request(req.method.clone(), &req.url);
            for (k, v) in &req.headers {
                b = b.header(k, v);
            }
            if let Some(a) = &auth {
                b = b.header(reqwest::header::AUTHORIZATION, a);
            }
            if let Some(body) = req.body {
                b = b.body(body.to_vec());
            }
            match b.send().await {
                Ok(resp) if resp.status() == reqwest::StatusCode::UNAUTHORIZED && !answered => {
                    answered = true;
                    let challenge = resp
                        .headers()
                        .get(reqwest::header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                        .unwrap_or_default();
                    let a = self.answer_challenge(req, &challenge).await?;
                    self.tokens
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key.clone(), a.clone());
                    auth = Some(a);
                    continue;
                }
                Ok(resp)
                    if (resp.status().is_server_error() || resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS)
                        && attempt < self.cfg.retries => {}
                Ok(resp) => return Ok(resp),
                Err(e) if e.is_builder() || e.is_redirect() || attempt >= self.cfg.retries => {
                    return Err(network(req.what, &req.url, &e))
                }
                Err(_) => {}
            }
            attempt += 1;
            tokio::time::sleep(delay + crate::store::jitter(delay)).await;
            delay = delay.saturating_mul(2);
        }
    }

    /// Resolve a pullspec to the digest of what its tag points at (for a multi-arch tag, the
    /// manifest list / index digest). A pullspec with a digest needs no lookup.
    pub async fn resolve(&self, p: &Pullspec) -> Result<Digest, RegistryError> {
        if let Some(d) = p.digest {
            return Ok(d);
        }
        let tag = p.tag.as_deref().unwrap_or("latest");
        let what = format!("resolving {p}");
        let mut req = Request {
            what: &what,
            repo: p,
            push: false,
            method: reqwest::Method::HEAD,
            url: self.url(p, &format!("manifests/{tag}")),
            headers: vec![(reqwest::header::ACCEPT, MANIFEST_ACCEPT.to_string())],
            body: None,
        };
        loop {
            let resp = self.send(&req).await?;
            let status = resp.status();
            if (status == reqwest::StatusCode::METHOD_NOT_ALLOWED || status == reqwest::StatusCode::NOT_IMPLEMENTED)
                && req.method == reqwest::Method::HEAD
            {
                req.method = reqwest::Method::GET;
                continue;
            }
            if !status.is_success() {
                return Err(self.status_error(&req, status.as_u16(), &format!("no tag {tag:?}")));
            }
            if let Some(d) = resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
            {
                return Digest::parse(d.trim()).map_err(|e| RegistryError::Protocol {
                    what: what.clone(),
                    reason: format!("bad Docker-Content-Digest header: {e}"),
                });
            }
            if req.method == reqwest::Method::HEAD {
                req.method = reqwest::Method::GET;
                continue;
            }
            let body = read_capped(resp, &req, MAX_MANIFEST_BYTES).await?;
            return Ok(Digest::of(&body));
        }
    }

    /// `GET /v2/<repo>/manifests/<reference>` with `accept`: the body (at most `limit` bytes,
    /// refused unread when longer) and its Content-Type; `None` when the registry has no such
    /// manifest (404, or an error body naming `MANIFEST_UNKNOWN` or "not found", as
    /// containers/image reads a missing `.sig` tag).
    pub async fn manifest(
        &self,
        repo: &Pullspec,
        reference: &str,
        accept: &str,
        limit: u64,
    ) -> Result<Option<ManifestBody>, RegistryError> {
        let what = format!("fetching {}:{reference}", repo.repository_name()).replace(":sha256:", "@sha256:");
        let req = Request {
            what: &what,
            repo,
            push: false,
            method: reqwest::Method::GET,
            url: self.url(repo, &format!("manifests/{reference}")),
            headers: vec![(reqwest::header::ACCEPT, accept.to_string())],
            body: None,
        };
        let resp = self.send(&req).await?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let code = status.as_u16();
            let body = read_capped(resp, &req, 64 << 10).await.unwrap_or_default();
            if manifest_unknown(&body) {
                return Ok(None);
            }
            return Err(self.status_error(&req, code, "no such manifest"));
        }
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let bytes = read_capped(resp, &req, limit).await?;
        Ok(Some(ManifestBody { bytes, content_type }))
    }

    /// `GET /v2/<repo>/blobs/<digest>`: the blob, at most `limit` bytes (refused unread when
    /// the registry says it is longer, and as soon as more arrive).
    pub async fn blob(&self, repo: &Pullspec, digest: &str, limit: u64) -> Result<Vec<u8>, RegistryError> {
        let resp = self.blob_response(repo, digest).await?;
        let what = format!("fetching blob {digest} of {}", repo.repository_name());
        let url = self.url(repo, &format!("blobs/{digest}"));
        read_capped(resp, &self.get(&what, repo, url), limit).await
    }

    /// `GET /v2/<repo>/blobs/<digest>`, successful, for the caller to stream.
    pub async fn blob_response(&self, repo: &Pullspec, digest: &str) -> Result<reqwest::Response, RegistryError> {
        let what = format!("fetching blob {digest} of {}", repo.repository_name());
        let req = self.get(&what, repo, self.url(repo, &format!("blobs/{digest}")));
        let resp = self.send(&req).await?;
        if !resp.status().is_success() {
            return Err(self.status_error(&req, resp.status().as_u16(), "no such blob"));
        }
        Ok(resp)
    }

    fn get<'a>(&self, what: &'a str, repo: &'a Pullspec, url: String) -> Request<'a> {
        Request {
            what,
            repo,
            push: false,
            method: reqwest::Method::GET,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Whether `repo` holds the blob `digest` (`HEAD /v2/<repo>/blobs/<digest>`), asked with push
    /// access (the answer decides an upload).
    pub async fn has_blob(&self, repo: &Pullspec, digest: &str) -> Result<bool, RegistryError> {
        let what = format!("looking for blob {digest} in {}", repo.repository_name());
        let req = Request {
            what: &what,
            repo,
            push: true,
            method: reqwest::Method::HEAD,
            url: self.url(repo, &format!("blobs/{digest}")),
            headers: Vec::new(),
            body: None,
        };
        let resp = self.send(&req).await?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            code => Err(self.status_error(&req, code, "")),
        }
    }

    /// Upload a blob in one request (`POST …/blobs/uploads/`, then `PUT <location>&digest=`).
    pub async fn upload_blob(&self, repo: &Pullspec, digest: &str, bytes: &[u8]) -> Result<(), RegistryError> {
        let what = format!("pushing blob {digest} to {}", repo.repository_name());
        let start = Request {
            what: &what,
            repo,
            push: true,
            method: reqwest::Method::POST,
            url: self.url(repo, "blobs/uploads/"),
            headers: vec![(reqwest::header::CONTENT_LENGTH, "0".into())],
            body: Some(b""),
        };
        let resp = self.send(&start).await?;
        if resp.status() != reqwest::StatusCode::ACCEPTED {
            return Err(self.status_error(&start, resp.status().as_u16(), ""));
        }
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Protocol {
                what: what.clone(),
                reason: "the upload was accepted without a Location".into(),
            })?;
        let mut url = reqwest::Url::parse(&start.url)
            .and_then(|base| base.join(location))
            .map_err(|e| RegistryError::Protocol {
                what: what.clone(),
                reason: format!("bad upload Location {location:?}: {e}"),
            })?;
        url.query_pairs_mut().append_pair("digest", digest);
        let put = Request {
            what: &what,
            repo,
            push: true,
            method: reqwest::Method::PUT,
            url: url.to_string(),
            headers: vec![(reqwest::header::CONTENT_TYPE, "application/octet-stream".into())],
            body: Some(bytes),
        };
        let resp = self.send(&put).await?;
        if resp.status() != reqwest::StatusCode::CREATED {
            return Err(self.status_error(&put, resp.status().as_u16(), ""));
        }
        Ok(())
    }

    /// `PUT /v2/<repo>/manifests/<tag>` with `media_type` as its Content-Type and `bytes` as
    /// they are; the digest the registry says it stored.
    pub async fn put_manifest(
        &self,
        repo: &Pullspec,
        tag: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Option<String>, RegistryError> {
        let what = format!("pushing {}:{tag}", repo.repository_name());
        let req = Request {
            what: &what,
            repo,
            push: true,
            method: reqwest::Method::PUT,
            url: self.url(repo, &format!("manifests/{tag}")),
            headers: vec![(reqwest::header::CONTENT_TYPE, media_type.to_string())],
            body: Some(bytes),
        };
        let resp = self.send(&req).await?;
        if resp.status() != reqwest::StatusCode::CREATED {
            let code = resp.status().as_u16();
            let body = read_capped(resp, &req, 4096).await.unwrap_or_default();
            let said = String::from_utf8_lossy(&body);
            let hint = if said.trim().is_empty() {
                String::new()
            } else {
                format!(" ({})", crate::text::truncate_chars(said.trim(), 300))
            };
            return Err(match self.status_error(&req, code, "") {
                RegistryError::Status {
                    what,
                    url,
                    status,
                    hint: h,
                } => RegistryError::Status {
                    what,
                    url,
                    status,
                    hint: format!("{h}{hint}"),
                },
                other => other,
            });
        }
        Ok(resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_string()))
    }

    /// A refused request's error, with what is likely wrong: credentials for 401/403, `missing`
    /// for 404.
    fn status_error(&self, req: &Request<'_>, status: u16, missing: &str) -> RegistryError {
        let hint = match status {
            401 | 403 => match &self.cfg.auth.path {
                Some(path) => format!(
                    " (credentials from {} were refused or lack {} access)",
                    path.display(),
                    if req.push { "push" } else { "pull" }
                ),
                None => " (no credentials: give --authfile, or set REGISTRY_AUTH_FILE)".to_string(),
            },
            404 if !missing.is_empty() => format!(" ({missing} in {})", req.repo.repository_name()),
            406 => " (the registry refused every manifest type sigbundle accepts)".to_string(),
            _ => String::new(),
        };
        RegistryError::Status {
            what: req.what.to_string(),
            url: req.url.clone(),
            status,
            hint,
        }
    }

    /// Answer a 401 challenge: Basic with the pull secret, or Bearer via the token realm
    /// (anonymously, or with the pull secret).
    async fn answer_challenge(&self, req: &Request<'_>, challenge: &str) -> Result<String, RegistryError> {
        let creds = self.cfg.auth.lookup(&req.repo.registry, &req.repo.repository);
        let Some((scheme, params)) = parse_challenge(challenge) else {
            return Err(refused(
                req.what,
                format!("401 with an unreadable challenge {challenge:?}"),
            ));
        };
        match scheme.as_str() {
            "basic" => match creds {
                Some(c) => Ok(basic_auth(c)),
                None => Err(RegistryError::Status {
                    what: req.what.to_string(),
                    url: req.url.clone(),
                    status: 401,
                    hint: " (the registry wants credentials: give --authfile, or set REGISTRY_AUTH_FILE)".into(),
                }),
            },
            "bearer" => self.bearer_token(req, &params, creds).await,
            other => Err(refused(
                req.what,
                format!("unsupported authentication scheme {other:?}"),
            )),
        }
    }

    /// A bearer token from the challenge's realm, for its service and scope (by default, pull
    /// or pull and push access to the repository), asked anonymously or with the pull secret.
    async fn bearer_token(
        &self,
        req: &Request<'_>,
        params: &BTreeMap<String, String>,
        creds: Option<&Credentials>,
    ) -> Result<String, RegistryError> {
        let what = req.what;
        let realm = params
            .get("realm")
            .ok_or_else(|| refused(what, "bearer challenge without a realm".into()))?;
        let mut token_url =
            reqwest::Url::parse(realm).map_err(|e| refused(what, format!("bad token realm {realm:?}: {e}")))?;
        {
            let mut q = token_url.query_pairs_mut();
            if let Some(s) = params.get("service") {
                q.append_pair("service", s);
            }
            let access = if req.push { "pull,push" } else { "pull" };
            let scope = params
                .get("scope")
                .cloned()
                .unwrap_or_else(|| format!("repository:{}:{access}", req.repo.repository));
            q.append_pair("scope", &scope);
        }
        let mut b = self.client()?.get(token_url.clone());
        if let Some(c) = creds {
            b = b.header(reqwest::header::AUTHORIZATION, basic_auth(c));
        }
        let resp = b.send().await.map_err(|e| network(what, token_url.as_str(), &e))?;
        if !resp.status().is_success() {
            return Err(RegistryError::Status {
                what: what.to_string(),
                url: token_url.to_string(),
                status: resp.status().as_u16(),
                hint: " (token request refused)".into(),
            });
        }
        let body = resp.bytes().await.map_err(|e| network(what, token_url.as_str(), &e))?;
        let t: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| refused(what, format!("bad token answer: {e}")))?;
        let token = t
            .token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| refused(what, "token answer holds no token".into()))?;
        Ok(format!("Bearer {token}"))
    }
}

/// Whether an error body says the manifest is unknown (containers/image's
/// `isManifestUnknownError`: errcode `MANIFEST_UNKNOWN`, or `UNKNOWN` with a "not found"
/// message).
fn manifest_unknown(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<ErrorCode>,
    }
    #[derive(Deserialize)]
    struct ErrorCode {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    serde_json::from_slice::<Errors>(body).is_ok_and(|e| {
        e.errors.iter().any(|e| {
            e.code == "MANIFEST_UNKNOWN"
                || (e.code == "UNKNOWN" && (e.message == "Not Found" || e.message.contains("not found")))
        })
    })
}

/// A response body, at most `limit` bytes: refused unread when the Content-Length says more,
/// and as soon as more arrive.
async fn read_capped(mut resp: reqwest::Response, req: &Request<'_>, limit: u64) -> Result<Vec<u8>, RegistryError> {
    let too_large = || RegistryError::TooLarge {
        what: req.what.to_string(),
        url: req.url.clone(),
        limit,
    };
    if resp.content_length().is_some_and(|l| l > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| network(req.what, &req.url, &e))? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A request for `what` to `url` that failed on the way.
fn network(what: &str, url: &str, e: &reqwest::Error) -> RegistryError {
    RegistryError::Network {
        what: what.to_string(),
        url: url.to_string(),
        cause: crate::text::error_chain(e),
    }
}

/// The registry's authentication answer could not be used.
fn refused(what: &str, reason: String) -> RegistryError {
    RegistryError::Protocol {
        what: what.to_string(),
        reason,
    }
}

/// The `Authorization` value of HTTP basic authentication with the pull secret.
fn basic_auth(c: &Credentials) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.user, c.password))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let (s, p) = parse_challenge(r#"Bearer realm="https://quay.io/v2/auth",service="quay.io",scope="repository:openshift-release-dev/ocp-release:pull""#).unwrap();
        assert_eq!(s, "bearer");
        assert_eq!(p["realm"], "https://quay.io/v2/auth");
        assert_eq!(p["service"], "quay.io");
        assert_eq!(p["scope"], "repository:openshift-release-dev/ocp-release:pull");
        let (s, p) = parse_challenge(r#"Basic realm="basic-realm""#).unwrap();
        assert_eq!(s, "basic");
        assert_eq!(p["realm"], "basic-realm");
    }

    #[test]
    fn auth_file_lookup_is_most_specific_first() {
        let json = br#"{"auths":{"quay.io":{"auth":"dTE6cDE="},"https://quay.io/openshift-release-dev":{"auth":"dTI6cDI="},"r.example":{"username":"u3","password":"p3"}}}"#;
        let a = AuthFile::parse(json, Path::new("auth.json")).unwrap();
        assert_eq!(
            a.lookup("quay.io", "openshift-release-dev/ocp-release").unwrap().user,
            "u2"
        );
        assert_eq!(a.lookup("quay.io", "other/repo").unwrap().user, "u1");
        assert_eq!(a.lookup("r.example", "x").unwrap().password, "p3");
        assert!(a.lookup("docker.io", "x").is_none());
        let e = AuthFile::parse(br#"{"auths":{"q":{"auth":"!!"}}}"#, Path::new("a.json")).unwrap_err();
        assert!(e.to_string().contains("a.json"), "{e}");
    }
}
