//! Resolving pullspecs by tag to digests through the registry API (`HEAD/GET
//! /v2/<repo>/manifests/<tag>`), with the anonymous bearer-token challenge flow, basic auth and
//! pull secrets from `auth.json` files found the way podman finds them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use serde::Deserialize;

use crate::digest::{Digest, Pullspec};

/// The manifest media types a release tag may point at: the multi-arch index/list first.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// The largest manifest read when the registry does not send a digest header.
const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// Why a tag could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read auth file {path}: {reason}")]
    AuthFile { path: PathBuf, reason: String },
    #[error("cannot read registry CA {path}: {reason}")]
    Ca { path: PathBuf, reason: String },
    #[error("resolving {pullspec}: {url}: HTTP {status}{hint}")]
    Status {
        pullspec: String,
        url: String,
        status: u16,
        hint: String,
    },
    #[error("resolving {pullspec}: {url}: {cause}")]
    Network {
        pullspec: String,
        url: String,
        cause: String,
    },
    #[error("resolving {pullspec}: {reason}")]
    Protocol { pullspec: String, reason: String },
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
}

/// Resolves tags to digests.
#[derive(Clone)]
pub struct Registry {
    /// Built on first use (shared by clones): loading the system's CA certificates costs
    /// OpenSSL 3 tens of milliseconds, which a pack of bare digests never needs.
    client: Arc<OnceLock<reqwest::Client>>,
    /// Extra roots from `ca_file`, read and checked up front.
    roots: Vec<reqwest::Certificate>,
    cfg: RegistryConfig,
}

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
        })
    }

    fn client(&self) -> Result<&reqwest::Client, RegistryError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let mut b = reqwest::Client::builder()
            .user_agent(crate::manifest::TOOL_VERSION.replace(' ', "/"))
            .timeout(self.cfg.timeout.unwrap_or(std::time::Duration::from_secs(30)));
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

    /// Resolve a pullspec to the digest of what its tag points at (for a multi-arch tag, the
    /// manifest list / index digest). A pullspec with a digest needs no lookup.
    pub async fn resolve(&self, p: &Pullspec) -> Result<Digest, RegistryError> {
        if let Some(d) = p.digest {
            return Ok(d);
        }
        let tag = p.tag.as_deref().unwrap_or("latest");
        let url = format!(
            "{}://{}/v2/{}/manifests/{tag}",
            self.scheme(&p.registry),
            p.registry,
            p.repository
        );
        let ps = p.to_string();
        let creds = self.cfg.auth.lookup(&p.registry, &p.repository).cloned();
        let mut auth: Option<String> = None;
        let mut method = reqwest::Method::HEAD;
        for _round in 0..4 {
            let mut req = self
                .client()?
                .request(method.clone(), &url)
                .header(reqwest::header::ACCEPT, MANIFEST_ACCEPT);
            if let Some(a) = &auth {
                req = req.header(reqwest::header::AUTHORIZATION, a);
            }
            let resp = req.send().await.map_err(|e| network(&ps, &url, &e))?;
            let status = resp.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && auth.is_none() {
                let challenge = resp
                    .headers()
                    .get(reqwest::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                    .unwrap_or_default();
                auth = Some(self.answer_challenge(&ps, &url, &challenge, p, creds.as_ref()).await?);
                continue;
            }
            if (status == reqwest::StatusCode::METHOD_NOT_ALLOWED || status == reqwest::StatusCode::NOT_IMPLEMENTED)
                && method == reqwest::Method::HEAD
            {
                method = reqwest::Method::GET;
                continue;
            }
            if !status.is_success() {
                return Err(RegistryError::Status {
                    pullspec: ps,
                    url,
                    status: status.as_u16(),
                    hint: self.status_hint(status.as_u16(), tag, p),
                });
            }
            if let Some(d) = resp
                .headers()
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
            {
                return Digest::parse(d.trim()).map_err(|e| RegistryError::Protocol {
                    pullspec: ps,
                    reason: format!("bad Docker-Content-Digest header: {e}"),
                });
            }
            if method == reqwest::Method::HEAD {
                method = reqwest::Method::GET;
                continue;
            }
            return manifest_digest(resp, &ps, &url).await;
        }
        Err(RegistryError::Protocol {
            pullspec: ps,
            reason: "the registry kept asking for authentication".into(),
        })
    }

    /// What to add to a refused manifest request's status, to say what is likely wrong.
    fn status_hint(&self, status: u16, tag: &str, p: &Pullspec) -> String {
        match status {
            401 | 403 => match &self.cfg.auth.path {
                Some(path) => format!(
                    " (credentials from {} were refused or lack pull access)",
                    path.display()
                ),
                None => " (no credentials: give --authfile, or set REGISTRY_AUTH_FILE)".to_string(),
            },
            404 => format!(" (no tag {tag:?} in {}/{})", p.registry, p.repository),
            406 => " (the registry refused every manifest type sigbundle accepts)".to_string(),
            _ => String::new(),
        }
    }

    /// Answer a 401 challenge: Basic with the pull secret, or Bearer via the token realm
    /// (anonymously, or with the pull secret).
    async fn answer_challenge(
        &self,
        ps: &str,
        url: &str,
        challenge: &str,
        p: &Pullspec,
        creds: Option<&Credentials>,
    ) -> Result<String, RegistryError> {
        let Some((scheme, params)) = parse_challenge(challenge) else {
            return Err(refused(ps, format!("401 with an unreadable challenge {challenge:?}")));
        };
        match scheme.as_str() {
            "basic" => match creds {
                Some(c) => Ok(basic_auth(c)),
                None => Err(RegistryError::Status {
                    pullspec: ps.to_string(),
                    url: url.to_string(),
                    status: 401,
                    hint: " (the registry wants credentials: give --authfile, or set REGISTRY_AUTH_FILE)".into(),
                }),
            },
            "bearer" => self.bearer_token(ps, &params, p, creds).await,
            other => Err(refused(ps, format!("unsupported authentication scheme {other:?}"))),
        }
    }

    /// A bearer token from the challenge's realm, for its service and scope (by default, pull
    /// access to the repository), asked anonymously or with the pull secret.
    async fn bearer_token(
        &self,
        ps: &str,
        params: &BTreeMap<String, String>,
        p: &Pullspec,
        creds: Option<&Credentials>,
    ) -> Result<String, RegistryError> {
        let realm = params
            .get("realm")
            .ok_or_else(|| refused(ps, "bearer challenge without a realm".into()))?;
        let mut token_url =
            reqwest::Url::parse(realm).map_err(|e| refused(ps, format!("bad token realm {realm:?}: {e}")))?;
        {
            let mut q = token_url.query_pairs_mut();
            if let Some(s) = params.get("service") {
                q.append_pair("service", s);
            }
            let scope = params
                .get("scope")
                .cloned()
                .unwrap_or_else(|| format!("repository:{}:pull", p.repository));
            q.append_pair("scope", &scope);
        }
        let mut req = self.client()?.get(token_url.clone());
        if let Some(c) = creds {
            req = req.header(reqwest::header::AUTHORIZATION, basic_auth(c));
        }
        let resp = req.send().await.map_err(|e| network(ps, token_url.as_str(), &e))?;
        if !resp.status().is_success() {
            return Err(RegistryError::Status {
                pullspec: ps.to_string(),
                url: token_url.to_string(),
                status: resp.status().as_u16(),
                hint: " (token request refused)".into(),
            });
        }
        let body = resp.bytes().await.map_err(|e| network(ps, token_url.as_str(), &e))?;
        let t: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| refused(ps, format!("bad token answer: {e}")))?;
        let token = t
            .token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| refused(ps, "token answer holds no token".into()))?;
        Ok(format!("Bearer {token}"))
    }
}

/// The digest of a manifest fetched without a `Docker-Content-Digest` header: the sha256 of its
/// body (at most [`MAX_MANIFEST_BYTES`]).
async fn manifest_digest(resp: reqwest::Response, ps: &str, url: &str) -> Result<Digest, RegistryError> {
    let body = resp.bytes().await.map_err(|e| network(ps, url, &e))?;
    if body.len() > MAX_MANIFEST_BYTES {
        return Err(RegistryError::Protocol {
            pullspec: ps.to_string(),
            reason: format!("manifest larger than {MAX_MANIFEST_BYTES} bytes"),
        });
    }
    Ok(Digest::of(&body))
}

/// A request to `url` for `ps` that failed on the way.
fn network(ps: &str, url: &str, e: &reqwest::Error) -> RegistryError {
    RegistryError::Network {
        pullspec: ps.to_string(),
        url: url.to_string(),
        cause: crate::text::error_chain(e),
    }
}

/// The registry's authentication answer could not be used.
fn refused(ps: &str, reason: String) -> RegistryError {
    RegistryError::Protocol {
        pullspec: ps.to_string(),
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
