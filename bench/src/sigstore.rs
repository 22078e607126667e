//! `sigbundle-bench sigstore`: `pack --sigstore --sigstore-components` of one release with N
//! components from a loopback registry that waits a fixed delay before every response, and
//! `unpack push` of the bundle into a second such registry, each against its latency floor
//! (the requests the run made × the delay ÷ the concurrency). The registries are in-process:
//! enough of the distribution API for what sigbundle asks (manifests and blobs by GET and
//! HEAD, monolithic uploads, manifest PUT), counting requests.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use sha2::Digest as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::{err, measure, median_of, Res};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const RELEASE_REPO: &str = "quay.io/openshift-release-dev/ocp-release";
const ART_DEV: &str = "quay.io/openshift-release-dev/ocp-v4.0-art-dev";

fn sha(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(b)))
}

/// A registry's content: manifests by (repo, reference) with their media type, blobs by
/// (repo, digest).
#[derive(Default)]
struct Content {
    manifests: HashMap<(String, String), (String, Vec<u8>)>,
    blobs: HashMap<(String, String), Vec<u8>>,
    uploads: HashMap<String, String>,
}

impl Content {
    fn blob(&mut self, repo: &str, b: Vec<u8>) -> String {
        let d = sha(&b);
        self.blobs.insert((repo.into(), d.clone()), b);
        d
    }

    fn manifest(&mut self, repo: &str, reference: &str, media_type: &str, b: Vec<u8>) -> String {
        let d = sha(&b);
        self.manifests
            .insert((repo.into(), reference.into()), (media_type.into(), b.clone()));
        self.manifests.insert((repo.into(), d.clone()), (media_type.into(), b));
        d
    }
}

/// A running registry: its host:port, its content, how many requests it answered.
struct Reg {
    host: String,
    content: Arc<Mutex<Content>>,
    requests: Arc<AtomicUsize>,
}

async fn start(delay: Duration, content: Content) -> Res<Reg> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(err("bind"))?;
    let host = listener.local_addr().map_err(err("addr"))?.to_string();
    let content = Arc::new(Mutex::new(content));
    let requests = Arc::new(AtomicUsize::new(0));
    let (c, n) = (content.clone(), requests.clone());
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let (c, n) = (c.clone(), n.clone());
            tokio::spawn(async move {
                let _ = connection(sock, delay, c, n).await;
            });
        }
    });
    Ok(Reg {
        host,
        content,
        requests,
    })
}

async fn connection(
    sock: tokio::net::TcpStream,
    delay: Duration,
    content: Arc<Mutex<Content>>,
    requests: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut length = 0usize;
        let mut content_type = String::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await? == 0 || h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    "content-type" => content_type = v.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        r.read_exact(&mut body).await?;
        requests.fetch_add(1, Ordering::Relaxed);
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("/").to_string();
        tokio::time::sleep(delay).await;
        let (status, headers, out) = answer(&method, &target, &content_type, body, &content);
        let mut resp = format!("HTTP/1.1 {status}\r\n");
        for (k, v) in headers {
            resp.push_str(&format!("{k}: {v}\r\n"));
        }
        let shown = if method == "HEAD" { Vec::new() } else { out.clone() };
        resp.push_str(&format!("Content-Length: {}\r\n\r\n", out.len()));
        let mut bytes = resp.into_bytes();
        bytes.extend_from_slice(&shown);
        w.write_all(&bytes).await?;
    }
}

type Answer = (&'static str, Vec<(&'static str, String)>, Vec<u8>);

fn answer(method: &str, target: &str, content_type: &str, body: Vec<u8>, content: &Mutex<Content>) -> Answer {
    let mut c = content.lock().unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let not_found: Answer = (
        "404 Not Found",
        vec![],
        br#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#.to_vec(),
    );
    if path == "/v2/" {
        return ("200 OK", vec![], b"{}".to_vec());
    }
    if let Some(id) = path.strip_prefix("/upload/") {
        let Some(repo) = c.uploads.remove(id) else {
            return not_found;
        };
        let digest = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("digest="))
            .unwrap_or("")
            .replace("%3A", ":");
        if sha(&body) != digest {
            return ("400 Bad Request", vec![], b"digest".to_vec());
        }
        c.blobs.insert((repo, digest.clone()), body);
        return ("201 Created", vec![("Docker-Content-Digest", digest)], vec![]);
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return not_found;
    };
    for (kind, sep) in [("manifests", "/manifests/"), ("blobs", "/blobs/")] {
        let Some(i) = rest.rfind(sep) else { continue };
        let (repo, reference) = (rest[..i].to_string(), rest[i + sep.len()..].to_string());
        if kind == "blobs" && reference == "uploads/" && method == "POST" {
            let id = format!("{}", c.uploads.len() + c.blobs.len() + 1);
            c.uploads.insert(id.clone(), repo);
            return ("202 Accepted", vec![("Location", format!("/upload/{id}"))], vec![]);
        }
        return match (kind, method) {
            ("manifests", "PUT") => {
                let d = c.manifest(&repo, &reference, content_type, body);
                ("201 Created", vec![("Docker-Content-Digest", d)], vec![])
            }
            ("manifests", _) => match c.manifests.get(&(repo, reference)) {
                Some((mt, b)) => (
                    "200 OK",
                    vec![("Content-Type", mt.clone()), ("Docker-Content-Digest", sha(b))],
                    b.clone(),
                ),
                None => not_found,
            },
            (_, _) => match c.blobs.get(&(repo, reference)) {
                Some(b) => ("200 OK", vec![], b.clone()),
                None => not_found,
            },
        };
    }
    not_found
}

/// A `.sig` artifact of `digest` signed with `key` for `identity`, into `repo`.
fn sign(c: &mut Content, key: &PKey<Private>, repo: &str, identity: &str, digest: &str) -> Res<()> {
    let payload = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{identity}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":{{"creator":"sigbundle-bench"}}}}"#
    )
    .into_bytes();
    let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), key).map_err(err("signer"))?;
    s.update(&payload).map_err(err("sign"))?;
    let sig = base64::engine::general_purpose::STANDARD.encode(s.sign_to_vec().map_err(err("sign"))?);
    let pd = sha(&payload);
    let config =
        format!(r#"{{"architecture":"","os":"","rootfs":{{"type":"layers","diff_ids":["{pd}"]}}}}"#).into_bytes();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"{pd}","size":{},"annotations":{{"dev.cosignproject.cosign/signature":"{sig}"}}}}]}}"#,
        sha(&config),
        config.len(),
        payload.len()
    );
    c.blob(repo, config);
    c.blob(repo, payload);
    let tag = format!("{}.sig", digest.replace(':', "-"));
    c.manifest(repo, &tag, OCI_MANIFEST, manifest.into_bytes());
    Ok(())
}

/// An image manifest with a config naming `label`, and `layers` (media type, bytes).
fn image(c: &mut Content, repo: &str, tag: &str, label: &str, layers: Vec<Vec<u8>>) -> String {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"label":"{label}"}}"#
    )
    .into_bytes();
    let (cs, cl) = (sha(&config), config.len());
    c.blob(repo, config);
    let layers: Vec<String> = layers
        .into_iter()
        .map(|l| {
            let s = format!(
                r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}"#,
                sha(&l),
                l.len()
            );
            c.blob(repo, l);
            s
        })
        .collect();
    let m = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cs}","size":{cl}}},"layers":[{}]}}"#,
        layers.join(",")
    );
    c.manifest(repo, tag, OCI_MANIFEST, m.into_bytes())
}

/// An uncompressed tar of one file.
fn tar_of(path: &str, data: &[u8]) -> Res<Vec<u8>> {
    let mut t = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    t.append_data(&mut h, path, data).map_err(err("tar"))?;
    t.into_inner().map_err(err("tar"))
}

pub fn run(dir: &Path, bin_dir: &Path, components: usize, delay_ms: u64, concurrency: usize, runs: usize) -> Res<()> {
    std::fs::create_dir_all(dir).map_err(err("mkdir"))?;
    let dir = dir.canonicalize().map_err(err("dir"))?;
    let bin = |b: &str| -> Res<String> {
        let p: PathBuf = bin_dir
            .join(b)
            .canonicalize()
            .map_err(err("binaries (cargo build --release)"))?;
        Ok(p.display().to_string())
    };
    let (pack, unpack) = (bin("pack")?, bin("unpack")?);
    eprintln!("keys…");
    let rsa = openssl::rsa::Rsa::generate(4096).map_err(err("rsa"))?;
    let key = PKey::from_rsa(rsa).map_err(err("pkey"))?;
    std::fs::write(dir.join("sigstore.pub"), key.public_key_to_pem().map_err(err("pem"))?).map_err(err("write"))?;
    let gpg_dir = dir.join("gpg");
    let mut src = Content::default();
    let mut refs = Vec::new();
    for i in 0..components {
        let name = format!("component-{i:03}");
        let d = image(&mut src, "src/art-dev", &name, &name, vec![]);
        sign(&mut src, &key, "src/art-dev", &format!("{ART_DEV}@{d}"), &d)?;
        refs.push(format!(
            r#"{{"name":"{name}","from":{{"kind":"DockerImage","name":"{ART_DEV}@{d}"}}}}"#
        ));
    }
    let stream = format!(
        r#"{{"kind":"ImageStream","apiVersion":"image.openshift.io/v1","spec":{{"tags":[{}]}}}}"#,
        refs.join(",")
    );
    let layers = vec![
        tar_of("usr/bin/cluster-version-operator", &vec![7u8; 1 << 20])?,
        tar_of("release-manifests/image-references", stream.as_bytes())?,
    ];
    let release = image(&mut src, "src/release", "4.99.0-x86_64", "release", layers);
    sign(
        &mut src,
        &key,
        "src/release",
        &format!("{RELEASE_REPO}:4.99.0-x86_64"),
        &release,
    )?;
    // The release's OpenPGP signature, in a local store (no latency: the sigstore part is measured).
    let store = dir.join("store");
    crate::sign_store_entry(&gpg_dir, &store, &release)?;

    let delay = Duration::from_millis(delay_ms);
    let rt = tokio::runtime::Runtime::new().map_err(err("runtime"))?;
    let src = rt.block_on(start(delay, src))?;
    let mirror = rt.block_on(start(delay, Content::default()))?;
    let conc = concurrency.to_string();
    let keyring = gpg_dir.join("release-key.asc").display().to_string();
    let bundle = dir.join("b.tar.zst").display().to_string();
    let release_ps = format!("{}/src/release@{release}", src.host);
    let comps_repo = format!("{}/src/art-dev", src.host);
    let pack_cmd: Vec<&str> = vec![
        &pack,
        "--insecure-registry",
        &src.host,
        "--store",
        "store",
        "--keyring",
        &keyring,
        "--no-sign",
        "--sigstore",
        "--sigstore-components",
        "--components-repo",
        &comps_repo,
        "--sigstore-key",
        "sigstore.pub",
        "--concurrency",
        &conc,
        "--force",
        "-q",
        "-o",
        &bundle,
        &release_ps,
    ];
    let mut pack_requests = 0;
    let p = median_of(runs, |_| {
        let before = src.requests.load(Ordering::Relaxed);
        let m = measure(&pack_cmd, &dir, None)?;
        pack_requests = src.requests.load(Ordering::Relaxed) - before;
        Ok(m)
    })?;
    let to = format!("{}/ocp/release", mirror.host);
    let comps_to = format!("{}/ocp/art-dev", mirror.host);
    let push_cmd: Vec<&str> = vec![
        &unpack,
        "push",
        &bundle,
        "--allow-unsigned",
        "--keyring",
        &keyring,
        "--sigstore-key",
        "sigstore.pub",
        "--to",
        &to,
        "--components-to",
        &comps_to,
        "--insecure-registry",
        &mirror.host,
        "--concurrency",
        &conc,
    ];
    let mut push_requests = 0;
    let u = median_of(runs, |_| {
        *mirror.content.lock().unwrap() = Content::default();
        let before = mirror.requests.load(Ordering::Relaxed);
        let m = measure(&push_cmd, &dir, None)?;
        push_requests = mirror.requests.load(Ordering::Relaxed) - before;
        Ok(m)
    })?;
    let stored = mirror.content.lock().unwrap().manifests.len() / 2;
    let floor = |requests: usize| requests as f64 * delay.as_secs_f64() / concurrency as f64;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "sigstore carry: 1 release + {components} components, {delay_ms} ms per response, concurrency {concurrency}, median of {runs}"
    );
    let _ = writeln!(out, "| step | wall (median, range) | CPU | peak RSS | requests | floor (requests × delay ÷ concurrency) | × floor |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for (name, m, n) in [
        ("pack --sigstore --sigstore-components", p, pack_requests),
        ("unpack push", u, push_requests),
    ] {
        let _ = writeln!(
            out,
            "| {name} | {:.2} s ({:.2}–{:.2}) | {:.2} s | {} MiB | {n} | {:.2} s | {:.1} |",
            m.wall,
            m.wall_min,
            m.wall_max,
            m.cpu,
            m.rss_kib / 1024,
            floor(n),
            m.wall / floor(n)
        );
    }
    let _ = writeln!(out, "(the mirror holds {stored} .sig manifests after the last push)");
    Ok(())
}
