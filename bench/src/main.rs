//! `sigbundle-bench`: the benchmark harness (docs/benchmarks.md). `gen` writes a synthetic
//! signature store of N releases × K signatures in Red Hat's shape; `serve` serves a store on
//! loopback with a delay per response; `run` measures pack, unpack verify and unpack emit
//! against the manual baseline (curl, gpg, base64 loops) and the machine's limits, and writes
//! the table; `hostile` measures the peak memory of `unpack verify` on bundles of up to 100 MB
//! built to cost as much as the reader's bounds allow (docs/security.md, resource bounds).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use clap::{Parser, Subcommand};
use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::serialize::stream::{Compressor, LiteralWriter, Message, Signer};
use openpgp::serialize::SerializeInto;
use openpgp::types::{CompressionAlgorithm, DataFormat, HashAlgorithm, KeyFlags};
use sequoia_openpgp as openpgp;
use sha2::Digest as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Parser)]
#[command(
    name = "sigbundle-bench",
    about = "Benchmarks for sigbundle (see docs/benchmarks.md)"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write (or reuse) a synthetic store: DIR/store, DIR/release-key.asc, DIR/digests.txt
    Gen {
        #[arg(long, default_value_t = 10_000)]
        releases: usize,
        #[arg(long, default_value_t = 2)]
        sigs: usize,
        #[arg(long, default_value = "target/bench-data")]
        dir: PathBuf,
    },
    /// Serve a folder over HTTP on 127.0.0.1 with a delay per response, until killed
    Serve {
        #[arg(long)]
        root: PathBuf,
        #[arg(long, default_value_t = 20)]
        delay_ms: u64,
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: String,
    },
    /// Break one core's verification cost down: parse, bare RSA verify, the whole check
    Micro {
        #[arg(long, default_value = "target/bench-data")]
        dir: PathBuf,
        #[arg(long, default_value_t = 2000)]
        count: usize,
    },
    /// Run every measurement and write the table
    Run(RunArgs),
    /// Peak RSS of `unpack verify` on hostile bundles of up to 100 MB (and a real one)
    Hostile {
        #[arg(long, default_value = "target/bench-hostile")]
        dir: PathBuf,
        /// Where the release binaries are
        #[arg(long, default_value = "target/release")]
        bin_dir: PathBuf,
        /// Releases (× 2 signatures) of the real bundle verified for comparison (0: none)
        #[arg(long, default_value_t = 10_000)]
        legit_releases: usize,
    },
}

fn main() {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Gen { releases, sigs, dir } => gen(&dir, releases, sigs).map(|_| ()),
        Cmd::Serve { root, delay_ms, addr } => serve_forever(root, delay_ms, addr),
        Cmd::Micro { dir, count } => micro(&dir, count),
        Cmd::Run(args) => run(args),
        Cmd::Hostile {
            dir,
            bin_dir,
            legit_releases,
        } => hostile(&dir, &bin_dir, legit_releases),
    };
    if let Err(e) = r {
        eprintln!("sigbundle-bench: error: {e}");
        std::process::exit(2);
    }
}

type Res<T> = Result<T, String>;

fn err<E: std::fmt::Display>(ctx: &str) -> impl Fn(E) -> String + '_ {
    move |e| format!("{ctx}: {e}")
}

/// The digest of synthetic release `i`.
fn digest_of(i: usize) -> String {
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(format!("sigbundle-bench-release-{i}")))
    )
}

/// Write the store (or reuse it when DIR/meta.json says it holds at least N × K).
fn gen(dir: &Path, releases: usize, sigs: usize) -> Res<Vec<String>> {
    let meta = dir.join("meta.json");
    let digests: Vec<String> = (0..releases).map(digest_of).collect();
    if let Ok(m) = std::fs::read(&meta) {
        let v: serde_json::Value = serde_json::from_slice(&m).map_err(err("meta.json"))?;
        if v["releases"].as_u64() >= Some(releases as u64) && v["sigs"].as_u64() == Some(sigs as u64) {
            eprintln!(
                "reusing {} ({} releases × {} signatures)",
                dir.display(),
                v["releases"],
                sigs
            );
            return Ok(digests);
        }
    }
    let started = Instant::now();
    std::fs::create_dir_all(dir.join("store")).map_err(err("mkdir"))?;
    eprintln!("generating an RSA-4096 release key…");
    let (cert, _) = CertBuilder::new()
        .add_userid("sigbundle bench release signer")
        .set_cipher_suite(CipherSuite::RSA4k)
        .set_primary_key_flags(KeyFlags::empty().set_signing().set_certification())
        .set_validity_period(None)
        .generate()
        .map_err(err("keygen"))?;
    std::fs::write(
        dir.join("release-key.asc"),
        cert.armored().to_vec().map_err(err("armor"))?,
    )
    .map_err(err("write key"))?;
    let keypair = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .map_err(err("secret"))?
        .into_keypair()
        .map_err(err("keypair"))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = releases.div_ceil(threads).max(1);
    let store = dir.join("store");
    eprintln!("signing {} payloads on {threads} threads…", releases * sigs);
    std::thread::scope(|s| -> Res<()> {
        let handles: Vec<_> = digests
            .chunks(chunk)
            .enumerate()
            .map(|(t, part)| {
                let (kp, store) = (keypair.clone(), store.clone());
                s.spawn(move || -> Res<()> {
                    for (j, d) in part.iter().enumerate() {
                        let i = t * chunk + j;
                        let folder = store.join(d.replace("sha256:", "sha256="));
                        std::fs::create_dir_all(&folder).map_err(err("mkdir"))?;
                        for k in 1..=sigs {
                            let bytes = sign_like_red_hat(&kp, d, i, k)?;
                            std::fs::write(folder.join(format!("signature-{k}")), bytes).map_err(err("write"))?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| "a signing thread panicked".to_string())??;
        }
        Ok(())
    })?;
    let list: String = digests.iter().map(|d| format!("{d}\n")).collect();
    std::fs::write(dir.join("digests.txt"), list).map_err(err("digests"))?;
    std::fs::write(
        &meta,
        serde_json::json!({"releases": releases, "sigs": sigs}).to_string(),
    )
    .map_err(err("meta"))?;
    eprintln!("generated in {:.1}s", started.elapsed().as_secs_f64());
    Ok(digests)
}

/// A signature in Red Hat's shape: a ZIP-compressed message holding a one-pass signature, a
/// binary literal named `_rpmsig-req-XXXXXX.bin`, and an RSA-4096/SHA-256 signature; the
/// payload written with spaces after `:` and `,`, no timestamp.
fn sign_like_red_hat(kp: &openpgp::crypto::KeyPair, digest: &str, i: usize, k: usize) -> Res<Vec<u8>> {
    let payload = format!(
        r#"{{"critical": {{"image": {{"docker-manifest-digest": "{digest}"}}, "type": "atomic container signature", "identity": {{"docker-reference": "quay.io/openshift-release-dev/ocp-release:4.99.{i}-x86_64"}}}}, "optional": {{"creator": "Red Hat OpenShift Signing Authority 0.0.1"}}}}"#
    );
    let name = format!("_rpmsig-req-{:06x}.bin", (i * 7 + k) % 0xff_ffff);
    let e = |e: openpgp::anyhow::Error| e.to_string();
    let mut sink = Vec::new();
    {
        let m = Message::new(&mut sink);
        let m = Compressor::new(m).algo(CompressionAlgorithm::Zip).build().map_err(e)?;
        let m = Signer::new(m, kp.clone())
            .map_err(e)?
            .hash_algo(HashAlgorithm::SHA256)
            .map_err(e)?
            .build()
            .map_err(e)?;
        let mut w = LiteralWriter::new(m)
            .format(DataFormat::Binary)
            .filename(name)
            .map_err(e)?
            .date(SystemTime::now())
            .map_err(e)?
            .build()
            .map_err(e)?;
        w.write_all(payload.as_bytes()).map_err(err("write"))?;
        w.finalize().map_err(e)?;
    }
    Ok(sink)
}

/// Serve `root` on `addr` with `delay` before each response; returns the bound URL.
async fn serve(root: PathBuf, delay: Duration, addr: &str) -> Res<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(err("bind"))?;
    let url = format!("http://{}", listener.local_addr().map_err(err("addr"))?);
    let h = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                continue;
            };
            let root = root.clone();
            tokio::spawn(async move {
                let _ = connection(sock, &root, delay).await;
            });
        }
    });
    Ok((url, h))
}

async fn connection(sock: tokio::net::TcpStream, root: &Path, delay: Duration) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await? == 0 || h == "\r\n" {
                break;
            }
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .split('?')
            .next()
            .unwrap_or("/")
            .to_string();
        tokio::time::sleep(delay).await;
        let rel = path.trim_start_matches('/');
        let body = if rel.split('/').any(|c| c == "..") {
            None
        } else {
            tokio::fs::read(root.join(rel)).await.ok()
        };
        let (status, body) = match body {
            Some(b) => ("200 OK", b),
            None => ("404 Not Found", b"not found".to_vec()),
        };
        // One write per response (and no Nagle): two small writes would wait for the
        // client's delayed ACK, adding ~20-40 ms that no real server adds.
        let mut resp = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        resp.extend_from_slice(&body);
        w.write_all(&resp).await?;
    }
}

fn serve_forever(root: PathBuf, delay_ms: u64, addr: String) -> Res<()> {
    let rt = tokio::runtime::Runtime::new().map_err(err("runtime"))?;
    rt.block_on(async {
        let (url, h) = serve(root, Duration::from_millis(delay_ms), &addr).await?;
        println!("{url}");
        h.await.map_err(err("server"))
    })
}

fn micro(dir: &Path, count: usize) -> Res<()> {
    use openpgp::parse::Parse;
    let keyring = sigbundle::keyring::Keyring::from_files(&[dir.join("release-key.asc")]).map_err(err("keyring"))?;
    let trust =
        sigbundle::verify::trust::ReleaseTrust::from_files(&[dir.join("release-key.asc")]).map_err(err("keyring"))?;
    let items: Vec<(sigbundle::digest::Digest, Vec<u8>)> = (0..count)
        .map(|i| {
            let d = digest_of(i);
            let p = dir
                .join("store")
                .join(d.replace("sha256:", "sha256="))
                .join("signature-1");
            (sigbundle::digest::Digest::parse(&d).unwrap(), std::fs::read(p).unwrap())
        })
        .collect();
    let now = SystemTime::now();
    let t = Instant::now();
    for (d, b) in &items {
        let r = sigbundle::verify::verify_release_signature(&trust, d, b, now, false);
        assert!(r.verdict.is_valid(), "{:?}", r.verdict);
    }
    let full = t.elapsed().as_secs_f64() / count as f64;
    let t = Instant::now();
    let mut parsed = Vec::new();
    for (_, b) in &items {
        let pile = openpgp::PacketPile::from_bytes(b).map_err(err("parse"))?;
        let mut body = Vec::new();
        let mut sig = None;
        for p in pile.descendants() {
            match p {
                openpgp::Packet::Literal(l) => body = l.body().to_vec(),
                openpgp::Packet::Signature(s) => sig = Some(s.clone()),
                _ => {}
            }
        }
        parsed.push((body, sig.unwrap()));
    }
    let parse = t.elapsed().as_secs_f64() / count as f64;
    let cert = &keyring.certs()[0];
    let key = cert.primary_key().key().clone();
    let t = Instant::now();
    for (body, sig) in &parsed {
        sig.verify_message(&key, body).map_err(err("verify"))?;
    }
    let bare = t.elapsed().as_secs_f64() / count as f64;
    let policy = openpgp::policy::StandardPolicy::new();
    let t = Instant::now();
    for (_, sig) in &parsed {
        let vc = cert
            .with_policy(&policy, sig.signature_creation_time())
            .map_err(err("policy"))?;
        std::hint::black_box(vc.keys().count());
    }
    let pol = t.elapsed().as_secs_f64() / count as f64;
    // OpenSSL alone: RSA-4096 PKCS#1 verify of a SHA-256 digest, key object cached vs rebuilt.
    let (n, e) = match cert.primary_key().key().mpis() {
        openpgp::crypto::mpi::PublicKey::RSA { e, n } => (n.value().to_vec(), e.value().to_vec()),
        _ => return Err("not RSA".into()),
    };
    let s_bytes: Vec<Vec<u8>> = parsed
        .iter()
        .map(|(_, sig)| match sig.mpis() {
            openpgp::crypto::mpi::Signature::RSA { s } => {
                let mut v = vec![0u8; n.len() - s.value().len()];
                v.extend_from_slice(s.value());
                v
            }
            _ => vec![],
        })
        .collect();
    let digest = [7u8; 32];
    let mk = || {
        let rsa = openssl::rsa::Rsa::from_public_components(
            openssl::bn::BigNum::from_slice(&n).unwrap(),
            openssl::bn::BigNum::from_slice(&e).unwrap(),
        )
        .unwrap();
        openssl::pkey::PKey::from_rsa(rsa).unwrap()
    };
    let verify_with = |k: &openssl::pkey::PKey<openssl::pkey::Public>, sig: &[u8]| {
        let mut ctx = openssl::pkey_ctx::PkeyCtx::new(k).unwrap();
        ctx.verify_init().unwrap();
        ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1).unwrap();
        ctx.set_signature_md(openssl::md::Md::sha256()).unwrap();
        let _ = ctx.verify(&digest, sig);
    };
    let cached = mk();
    let t = Instant::now();
    for sb in &s_bytes {
        verify_with(&cached, sb);
    }
    let ossl_cached = t.elapsed().as_secs_f64() / count as f64;
    let t = Instant::now();
    for sb in &s_bytes {
        verify_with(&mk(), sb);
    }
    let ossl_rebuilt = t.elapsed().as_secs_f64() / count as f64;
    println!(
        "openssl RSA-4096 verify: key cached {:.1} µs, key rebuilt each time {:.1} µs",
        ossl_cached * 1e6,
        ossl_rebuilt * 1e6
    );
    println!("per signature, one core: whole check {:.1} µs; parse+decompress {:.1} µs; verify_message {:.1} µs; cert.with_policy {:.1} µs", full * 1e6, parse * 1e6, bare * 1e6, pol * 1e6);
    Ok(())
}

#[derive(clap::Args)]
struct RunArgs {
    /// Release counts to pack
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    sizes: Vec<usize>,
    #[arg(long, default_value_t = 2)]
    sigs: usize,
    #[arg(long, default_value_t = 20)]
    delay_ms: u64,
    /// pack --concurrency
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Releases the curl baseline fetches (it is sequential: N × (K+1) × delay)
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    baseline_fetch: Vec<usize>,
    /// Signatures the gpg --verify baseline checks (its rate is compared)
    #[arg(long, default_value_t = 1000)]
    baseline_verify: usize,
    /// Releases the base64 + template baseline renders
    #[arg(long, default_value_t = 1000)]
    baseline_emit: usize,
    #[arg(long, default_value = "target/bench-data")]
    dir: PathBuf,
    /// Where the release binaries are
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Write the report here
    #[arg(long, default_value = "docs/benchmarks.md")]
    report: PathBuf,
}

/// Wall time, CPU time and peak RSS of one command, from `/usr/bin/time -v`.
#[derive(Clone, Copy, Default)]
struct Measure {
    /// The median's wall time when repeated (see `median_of`), else the one run's.
    wall: f64,
    wall_min: f64,
    wall_max: f64,
    cpu: f64,
    rss_kib: u64,
}

/// Run a measurement `n` times; the run with the median wall time, with the range of all.
fn median_of(n: usize, mut run: impl FnMut(usize) -> Res<Measure>) -> Res<Measure> {
    let mut all = (0..n).map(&mut run).collect::<Res<Vec<Measure>>>()?;
    all.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let mut m = all[all.len() / 2];
    m.wall_min = all[0].wall;
    m.wall_max = all[all.len() - 1].wall;
    Ok(m)
}

fn measure(cmd: &[&str], cwd: &Path, stdout_to: Option<&Path>) -> Res<Measure> {
    let (m, ok, text) = measure_status(cmd, cwd, stdout_to)?;
    if !ok {
        return Err(format!("{cmd:?} failed:\n{text}"));
    }
    Ok(m)
}

/// [`measure`], whatever the command's exit status: (measure, success, its stderr).
fn measure_status(cmd: &[&str], cwd: &Path, stdout_to: Option<&Path>) -> Res<(Measure, bool, String)> {
    let mut c = Command::new("/usr/bin/time");
    c.arg("-v")
        .args(cmd)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    c.env("XDG_STATE_HOME", cwd.join("state"));
    match stdout_to {
        Some(p) => c.stdout(std::fs::File::create(p).map_err(err("stdout file"))?),
        None => c.stdout(Stdio::null()),
    };
    let out = c.output().map_err(err("spawn /usr/bin/time (apt-get install time)"))?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let secs = |v: Option<String>| v.and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    let wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss):")
        .map(|w| {
            w.split(':')
                .fold(0.0, |acc, p| acc * 60.0 + p.parse::<f64>().unwrap_or(0.0))
        })
        .unwrap_or(0.0);
    let m = Measure {
        wall,
        wall_min: wall,
        wall_max: wall,
        cpu: secs(field("User time (seconds):")) + secs(field("System time (seconds):")),
        rss_kib: field("Maximum resident set size (kbytes):")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    };
    Ok((m, out.status.success(), text))
}

fn sh(script: &str, cwd: &Path) -> Res<Measure> {
    measure(&["bash", "-c", script], cwd, None)
}

fn openssl_verify_rate() -> Res<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "3", "rsa4096"])
        .output()
        .map_err(err("openssl speed"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with("rsa 4096 bits"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("cannot read openssl speed output: {text}"))
}

fn run(a: RunArgs) -> Res<()> {
    let max = a.sizes.iter().copied().max().unwrap_or(0);
    let digests = gen(&a.dir, max, a.sigs)?;
    let work = a.dir.join("work");
    // The previous run's files are moved aside now and deleted only after every measurement:
    // ext4 skips recently freed inodes when it allocates new ones, so deleting 10,000 files
    // just before `unpack emit` creates 10,000 made it several times slower (4–5 s of system
    // time), which measures the benchmark's own clean-up, not sigbundle.
    let old = a.dir.join(format!("work.old-{}", std::process::id()));
    if work.exists() {
        std::fs::rename(&work, &old).map_err(err("work dir"))?;
    }
    std::fs::create_dir_all(&work).map_err(err("work dir"))?;
    let work = work.canonicalize().map_err(err("work dir"))?;
    let dir = a.dir.canonicalize().map_err(err("data dir"))?;
    let bin = |n: &str| {
        a.bin_dir
            .join(n)
            .canonicalize()
            .map(|p| p.display().to_string())
            .map_err(|e| format!("{}/{n}: {e} (cargo build --release first)", a.bin_dir.display()))
    };
    let (pack, unpack) = (bin("pack")?, bin("unpack")?);
    let keyring = dir.join("release-key.asc").display().to_string();
    // Bundles are signed by a packer key, as users ship them.
    let packer = dir.join("packer");
    let (packer_key, packer_pub) = (dir.join("packer.key"), dir.join("packer.pub.asc"));
    if !packer_key.exists() || !packer_pub.exists() {
        let out = Command::new(&pack)
            .args(["key", "generate", "--force", "--name", "sigbundle-bench", "-o"])
            .arg(&packer)
            .env_remove("SIGBUNDLE_KEY_PASSPHRASE")
            .output()
            .map_err(err("pack key generate"))?;
        if !out.status.success() {
            return Err(format!("pack key generate: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    let (packer_key, packer_pub) = (packer_key.display().to_string(), packer_pub.display().to_string());
    let rt = tokio::runtime::Runtime::new().map_err(err("runtime"))?;
    let (url, _server) = rt.block_on(serve(
        dir.join("store"),
        Duration::from_millis(a.delay_ms),
        "127.0.0.1:0",
    ))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rows: Vec<String> = Vec::new();
    let mut pack_m = Vec::new();

    for &n in &a.sizes {
        let list = work.join(format!("list-{n}.txt"));
        std::fs::write(&list, digests[..n].iter().map(|d| format!("{d}\n")).collect::<String>())
            .map_err(err("list"))?;
        let out = work.join(format!("bundle-{n}.tar.zst"));
        let conc = a.concurrency.to_string();
        let m = median_of(3, |_| {
            measure(
                &[
                    &pack,
                    "--store",
                    &url,
                    "--keyring",
                    &keyring,
                    "--sign-key",
                    &packer_key,
                    "--concurrency",
                    &conc,
                    "--from-file",
                    list.to_str().unwrap(),
                    "-o",
                    out.to_str().unwrap(),
                    "--force",
                    "-q",
                ],
                &work,
                None,
            )
        })?;
        let requests = n * (a.sigs + 1);
        let floor = requests as f64 * a.delay_ms as f64 / 1000.0 / a.concurrency as f64;
        let size = std::fs::metadata(&out).map_err(err("bundle"))?.len();
        let raw: u64 = digests[..n]
            .iter()
            .map(|d| {
                (1..=a.sigs)
                    .map(|k| {
                        std::fs::metadata(
                            dir.join("store")
                                .join(d.replace("sha256:", "sha256="))
                                .join(format!("signature-{k}")),
                        )
                        .map_or(0, |m| m.len())
                    })
                    .sum::<u64>()
            })
            .sum();
        eprintln!(
            "pack N={n}: {:.2}s wall, {:.2}s cpu, {} KiB peak; floor {:.2}s; bundle {size} B for {raw} B raw",
            m.wall, m.cpu, m.rss_kib, floor
        );
        pack_m.push((n, m, floor, size, raw, requests));
    }

    // unpack verify and emit of each bundle, five times each (the median is reported: this
    // machine's timings vary by ±20% from run to run); emit into a new folder each time.
    // The machine's RSA rate, right before and right after the unpack runs: the higher of the
    // two is the reference (this VM's speed drifts by tens of percent within minutes).
    let rsa_before = openssl_verify_rate()?;
    let mut unpack_m = Vec::new();
    for &n in &a.sizes {
        let bundle = work.join(format!("bundle-{n}.tar.zst"));
        let bundle = bundle.to_str().unwrap();
        let check = ["--packer-key", &packer_pub, "--keyring", &keyring];
        let verify = median_of(5, |_| {
            let mut cmd = vec![unpack.as_str(), "verify", bundle];
            cmd.extend(check);
            measure(&cmd, &work, None)
        })?;
        let emit = median_of(5, |i| {
            let to = work.join(format!("configmaps-{n}-{i}"));
            let mut cmd = vec![unpack.as_str(), "emit", bundle, "--to-dir", to.to_str().unwrap()];
            cmd.extend(check);
            measure(&cmd, &work, None)
        })?;
        eprintln!(
            "unpack N={n}: verify {:.2}s ({:.2}–{:.2}), {} KiB; emit {:.2}s ({:.2}–{:.2}), {} KiB",
            verify.wall,
            verify.wall_min,
            verify.wall_max,
            verify.rss_kib,
            emit.wall,
            emit.wall_min,
            emit.wall_max,
            emit.rss_kib
        );
        unpack_m.push((n, verify, emit));
    }
    let rsa_after = openssl_verify_rate()?;
    let (_, verify, emit) = unpack_m.last().cloned().ok_or("no sizes")?;
    let nsigs = max * a.sigs;

    // Baselines, in the same session.
    let mut fetch_base = Vec::new();
    for &n in &a.baseline_fetch {
        let list = work.join(format!("list-{n}.txt"));
        if !list.exists() {
            std::fs::write(&list, digests[..n].iter().map(|d| format!("{d}\n")).collect::<String>())
                .map_err(err("list"))?;
        }
        let out = work.join(format!("curl-{n}"));
        std::fs::create_dir_all(&out).map_err(err("mkdir"))?;
        let script = format!(
            r#"while read d; do h=${{d#sha256:}}; n=1; while [ $n -le 9 ]; do curl -sf -o {out}/$h-$n {url}/sha256=$h/signature-$n || break; n=$((n+1)); done; done < {list}"#,
            out = out.display(),
            url = url,
            list = list.display()
        );
        let m = sh(&script, &work)?;
        eprintln!("baseline curl loop N={n}: {:.2}s", m.wall);
        fetch_base.push((n, m));
    }
    let gnupg = work.join("gnupg");
    std::fs::create_dir_all(&gnupg).map_err(err("mkdir"))?;
    let imp = Command::new("gpg")
        .env("GNUPGHOME", &gnupg)
        .args(["--batch", "--import", &keyring])
        .output()
        .map_err(err("gpg import"))?;
    if !imp.status.success() {
        return Err(format!("gpg --import: {}", String::from_utf8_lossy(&imp.stderr)));
    }
    let vlist = work.join("verify-list.txt");
    let files: Vec<String> = digests
        .iter()
        .flat_map(|d| (1..=a.sigs).map(move |k| (d.clone(), k)))
        .take(a.baseline_verify)
        .map(|(d, k)| {
            dir.join("store")
                .join(d.replace("sha256:", "sha256="))
                .join(format!("signature-{k}"))
                .display()
                .to_string()
        })
        .collect();
    std::fs::write(&vlist, files.join("\n") + "\n").map_err(err("verify list"))?;
    let gpg_m = sh(&format!("export GNUPGHOME={}; while read f; do gpg --batch --quiet --verify \"$f\" 2>/dev/null || exit 1; done < {}", gnupg.display(), vlist.display()), &work)?;
    eprintln!("baseline gpg --verify {} sigs: {:.2}s", files.len(), gpg_m.wall);
    let elist = work.join(format!("list-{}.txt", a.baseline_emit));
    if !elist.exists() {
        std::fs::write(
            &elist,
            digests[..a.baseline_emit]
                .iter()
                .map(|d| format!("{d}\n"))
                .collect::<String>(),
        )
        .map_err(err("list"))?;
    }
    let eout = work.join("baseline-cms");
    std::fs::create_dir_all(&eout).map_err(err("mkdir"))?;
    let emit_script = format!(
        r#"while read d; do h=${{d#sha256:}}; data=""; n=1; while [ -f {store}/sha256=$h/signature-$n ]; do b=$(base64 -w0 {store}/sha256=$h/signature-$n); data="$data${{data:+,}}\"sha256-$h-$n\":\"$b\""; n=$((n+1)); done; printf '{{"kind":"ConfigMap","apiVersion":"v1","metadata":{{"name":"sha256-%s","namespace":"openshift-config-managed","labels":{{"release.openshift.io/verification-signatures":""}}}},"binaryData":{{%s}}}}\n' "$h" "$data" > {out}/signature-sha256-${{h:0:16}}.json; done < {list}"#,
        store = dir.join("store").display(),
        out = eout.display(),
        list = elist.display()
    );
    let emit_base = sh(&emit_script, &work)?;
    eprintln!(
        "baseline base64+template {} releases: {:.2}s",
        a.baseline_emit, emit_base.wall
    );

    let rsa = rsa_before.max(rsa_after);
    let machine_rate = rsa * cores as f64;

    // The table.
    let verify_rate = nsigs as f64 / verify.wall;
    let gpg_rate = files.len() as f64 / gpg_m.wall;
    let emit_base_per = emit_base.wall / a.baseline_emit as f64;
    let range = |m: &Measure| format!("{:.2} ({:.2}–{:.2})", m.wall, m.wall_min, m.wall_max);
    rows.push("| run | N | wall s | CPU s | peak RSS MiB | per release | reference | ratio |".into());
    rows.push("|---|---:|---:|---:|---:|---:|---|---:|".into());
    for (n, m, floor, size, raw, requests) in &pack_m {
        let base = fetch_base.iter().find(|(b, _)| b == n);
        rows.push(format!(
            "| pack ({requests} requests, {} ms delay, concurrency {}, median of 3) | {n} | {} | {:.2} | {:.1} | {:.2} ms, {:.1} KiB | latency floor {:.2} s | {:.2}× floor |",
            a.delay_ms, a.concurrency, range(m), m.cpu, m.rss_kib as f64 / 1024.0, m.wall * 1000.0 / *n as f64, m.rss_kib as f64 / *n as f64, floor, m.wall / floor
        ));
        if let Some((_, b)) = base {
            rows.push(format!(
                "| baseline: sequential curl loop | {n} | {:.2} | {:.2} | — | {:.2} ms | pack is faster by | {:.1}× |",
                b.wall,
                b.cpu,
                b.wall * 1000.0 / *n as f64,
                b.wall / m.wall
            ));
        }
        let budget = 1.05 * *raw as f64 + 1024.0 * *n as f64;
        rows.push(format!("| bundle size | {n} | — | — | — | {:.0} B | 1.05 × raw ({raw} B) + 1 KiB/release = {:.0} B | {:.3} of budget |", *size as f64 / *n as f64, budget, *size as f64 / budget));
    }
    for (n, v, _) in &unpack_m {
        let rate = (n * a.sigs) as f64 / v.wall;
        rows.push(format!(
            "| unpack verify ({} signatures, median of 5) | {n} | {} | {:.2} | {:.1} | {:.3} ms | machine RSA-4096 verify: {rsa:.0}/s (best of {rsa_before:.0} before and {rsa_after:.0} after) × {cores} cores = {machine_rate:.0}/s | {rate:.0}/s = {:.0}% |",
            n * a.sigs, range(v), v.cpu, v.rss_kib as f64 / 1024.0, v.wall * 1000.0 / *n as f64, 100.0 * rate / machine_rate
        ));
    }
    rows.push(format!(
        "| baseline: gpg --verify loop ({} signatures) | — | {:.2} | {:.2} | — | {:.2} ms/sig | unpack verify is faster by | {:.1}× |",
        files.len(), gpg_m.wall, gpg_m.cpu, gpg_m.wall * 1000.0 / files.len() as f64, verify_rate / gpg_rate
    ));
    for (n, _, e) in &unpack_m {
        let judged = if *n == max {
            if e.wall <= 1.0 {
                "target ≤ 1 s: met"
            } else {
                "target ≤ 1 s: missed"
            }
        } else {
            "—"
        };
        rows.push(format!(
            "| unpack emit --to-dir (median of 5) | {n} | {} | {:.2} | {:.1} | {:.3} ms | {judged} | — |",
            range(e),
            e.cpu,
            e.rss_kib as f64 / 1024.0,
            e.wall * 1000.0 / *n as f64,
        ));
    }
    rows.push(format!(
        "| baseline: base64 + template loop | {} | {:.2} | {:.2} | — | {:.2} ms | emit is faster per release by | {:.1}× |",
        a.baseline_emit, emit_base.wall, emit_base.cpu, emit_base_per * 1000.0, emit_base_per / (emit.wall / max as f64)
    ));
    let table = rows.join("\n");
    println!("{table}");
    let machine = machine_description(cores);
    let doc = format!(
        "{}\n## Latest run\n\n{machine}\n\nCommand: `cargo build --release --workspace && target/release/sigbundle-bench run` (sizes {:?}, K = {}, delay {} ms, pack concurrency {}).\n\n{table}\n",
        DOC_HEAD, a.sizes, a.sigs, a.delay_ms, a.concurrency
    );
    std::fs::write(&a.report, doc).map_err(err("report"))?;
    eprintln!("wrote {}", a.report.display());
    // Measuring is over: now earlier runs' files may go.
    for e in std::fs::read_dir(&a.dir).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with("work.old-") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    Ok(())
}

fn machine_description(cores: usize) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0) / 1024 / 1024)
        })
        .unwrap_or(0);
    format!(
        "Machine: {cores} cores ({cpu}), {mem} GiB RAM, run {}.",
        sigbundle::verify::rfc3339(sigbundle::verify::unix(SystemTime::now()))
    )
}

const DOC_HEAD: &str = "# Benchmarks

Measured by `sigbundle-bench` (`bench/`), by hand, never in tests. One command:

```sh
cargo build --release --workspace
target/release/sigbundle-bench run          # needs curl, gpg, openssl and /usr/bin/time (Debian: time)
```

What it does, in one session:
1. `gen`: a synthetic store of N releases × K signatures, each signed with a generated RSA-4096
   key in Red Hat's shape (ZIP-compressed message, one-pass signature, binary literal named
   `_rpmsig-req-XXXXXX.bin`, SHA-256, the payload with spaces as in the real vectors), in the
   mirror layout, cached in `target/bench-data` between runs. (sequoia writes new-format packet
   headers where Red Hat's signer writes old-format ones; the content is the same.)
2. A loopback HTTP server for it with a fixed delay per response (default 20 ms), so network
   latency is part of the measurement.
3. `pack` of each N over HTTP (three times) into a bundle signed by a packer key (as users
   ship them), then `unpack verify` and `unpack emit --to-dir` (into a new folder) of each
   bundle, five times each, reporting the median and the range (this VM's timings vary by
   about ±20% between identical runs); everything under `/usr/bin/time -v` (wall, user+system CPU, peak RSS).
   The per-release column gives wall time per release (and, for pack, peak RSS per release),
   so growth from 100 to 10,000 can be read off.
4. The manual baseline: a sequential `curl` loop per signature (as the docs do it), `gpg
   --verify` per signature, and `base64` + a ConfigMap template per release.
5. The machine's limits: the latency floor (requests × delay ÷ concurrency, where a release
   costs K + 1 requests: its signatures and the 404 that ends them) and `openssl speed rsa4096`
   verifications per second × cores, measured right before and right after the unpack runs
   (the higher of the two is used).

The baselines run on samples (sizes in the table) because the sequential loops take minutes
at 10,000 releases; their ratios compare per-release or per-signature rates.

The previous run's files are deleted only after all measurements: ext4 skips recently freed
inodes when allocating, so deleting 10,000 files right before `unpack emit` writes 10,000 made
emit several times slower (4–5 s of kernel time) — a cost of the benchmark, not of sigbundle.

`sigbundle-bench micro` breaks one core's per-signature cost down. What was changed after
each measurement, with before and after figures, is in
[benchmarks-history.md](benchmarks-history.md).
";

/// Pseudo-random bytes (SHA-256 in counter mode): incompressible, reproducible.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut n = 0u64;
    while out.len() < len {
        out.extend_from_slice(&sha2::Sha256::digest([seed.to_le_bytes(), n.to_le_bytes()].concat()));
        n += 1;
    }
    out.truncate(len);
    out
}

/// A manifest of `releases` releases × 2 signatures in Red Hat's shape, every field filled,
/// whose members are `noise` of `size` bytes: (manifest, members).
fn junk_bundle_parts(releases: usize, size: usize) -> (sigbundle::manifest::Manifest, Vec<(String, Vec<u8>)>) {
    use sigbundle::manifest::{signature_path, Manifest, Member, Release, SignatureEntry};
    let mut rels = Vec::with_capacity(releases);
    let mut members = Vec::with_capacity(releases * 2);
    for i in 0..releases {
        let d = sigbundle::digest::Digest::parse(&digest_of(i)).expect("a digest");
        let mut sigs = Vec::new();
        for k in 1..=2 {
            let path = signature_path(&d, k);
            let body = noise((i * 2 + k) as u64, size);
            let sha256 = hex::encode(sha2::Sha256::digest(&body));
            sigs.push(SignatureEntry {
                path: path.clone(),
                size: size as u64,
                sha256,
                verdict: "valid".into(),
                signer: Some("199E2F91FD431D51199E2F91FD431D51199E2F91".into()),
                signer_cert: Some("567E347AD0044ADE55BA8A5F199E2F91FD431D51".into()),
                created: Some(1_700_000_000),
                identity: Some(format!(
                    "quay.io/openshift-release-dev/ocp-release:4.{}.{}-x86_64",
                    i / 100,
                    i % 100
                )),
                creator: Some("Red Hat OpenShift Signing Authority 0.0.1".into()),
                satisfies: Vec::new(),
            });
            members.push((path, body));
        }
        rels.push(Release {
            digest: d,
            requested: vec![d.to_string()],
            store: "https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release".into(),
            signatures: sigs,
            incomplete: Vec::new(),
        });
    }
    rels.sort_by_key(|r| r.digest.to_string());
    members.sort_by(|a, b| a.0.cmp(&b.0));
    let manifest = Manifest {
        format: sigbundle::manifest::FORMAT_V1.into(),
        tool: sigbundle::manifest::TOOL_VERSION.into(),
        created: "2024-02-26T00:00:00Z".into(),
        packer: sigbundle::manifest::UNSIGNED.into(),
        members: members
            .iter()
            .map(|(p, b)| Member {
                path: p.clone(),
                size: b.len() as u64,
                sha256: hex::encode(sha2::Sha256::digest(b)),
            })
            .collect(),
        releases: rels,
        missing: vec![],
        reduced_against: vec![],
    };
    (manifest, members)
}

fn write_zstd_bundle(path: &Path, manifest: &[u8], members: &[(String, Vec<u8>)]) -> Res<()> {
    let f = std::io::BufWriter::new(std::fs::File::create(path).map_err(err("create"))?);
    sigbundle::bundle::write_bundle(f, sigbundle::bundle::Compression::Zstd, 0, manifest, None, members)
        .map_err(err("write bundle"))?
        .flush()
        .map_err(err("flush"))
}

/// Bundles built to cost the reader as much as its bounds allow, up to about 100 MB each, and
/// the peak RSS and time of `unpack verify` on each.
fn hostile(dir: &Path, bin_dir: &Path, legit_releases: usize) -> Res<()> {
    std::fs::create_dir_all(dir).map_err(err("mkdir"))?;
    let dir = dir.canonicalize().map_err(err("dir"))?;
    let unpack = bin_dir
        .join("unpack")
        .canonicalize()
        .map_err(|e| format!("{}/unpack: {e} (cargo build --release first)", bin_dir.display()))?;
    let unpack = unpack.display().to_string();
    let mut cases: Vec<(String, PathBuf, Vec<String>)> = Vec::new();
    let au = vec!["--allow-unsigned".to_string()];

    // 100,000 unlisted members of 1,000 random bytes after an empty manifest.
    let p = dir.join("unlisted-100k.tar.zst");
    if !p.exists() {
        eprintln!("writing {}…", p.display());
        let (mut m, _) = junk_bundle_parts(0, 0);
        m.members.clear();
        let members: Vec<(String, Vec<u8>)> = (0..100_000)
            .map(|i| (format!("signatures/unlisted-{i:08}"), noise(i as u64, 1000)))
            .collect();
        write_zstd_bundle(&p, &m.to_bytes(), &members)?;
    }
    cases.push(("100,000 unlisted 1 KB members".into(), p, au.clone()));

    // The largest manifest the bounds decode, every signature listed (random bytes that pass
    // size and sha256, so each is parsed and refused by the verifier).
    let p = dir.join("max-manifest.tar.zst");
    if !p.exists() {
        let mut releases = 34_000;
        loop {
            let (m, members) = junk_bundle_parts(releases, 1_700);
            let bytes = m.to_bytes();
            if bytes.len() <= 64 << 20 && sigbundle::manifest::Manifest::parse(&bytes).is_ok() {
                eprintln!(
                    "writing {} ({releases} releases, manifest {} MB)…",
                    p.display(),
                    bytes.len() / 1_000_000
                );
                write_zstd_bundle(&p, &bytes, &members)?;
                break;
            }
            releases = releases * 19 / 20;
        }
    }
    cases.push((
        "largest decodable manifest, every signature listed".into(),
        p.clone(),
        au.clone(),
    ));
    // The same, when a packer key is required: refused before the manifest is decoded.
    let packer = dir.join("packer");
    if !dir.join("packer.pub.asc").exists() {
        let pack = bin_dir.join("pack");
        let out = Command::new(&pack)
            .args(["key", "generate", "--force", "--name", "sigbundle-bench", "-o"])
            .arg(&packer)
            .env_remove("SIGBUNDLE_KEY_PASSPHRASE")
            .output()
            .map_err(err("pack key generate"))?;
        if !out.status.success() {
            return Err(format!("pack key generate: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    let pk = vec![
        "--packer-key".to_string(),
        dir.join("packer.pub.asc").display().to_string(),
    ];
    cases.push(("the same, unsigned, with --packer-key".into(), p, pk));

    // One 100 MB member of random bytes (over the member cap: read through, not kept).
    let p = dir.join("one-100mb-member.tar.zst");
    if !p.exists() {
        eprintln!("writing {}…", p.display());
        let (m, _) = junk_bundle_parts(0, 0);
        write_zstd_bundle(&p, &m.to_bytes(), &[("signatures/big".into(), noise(7, 100_000_000))])?;
    }
    cases.push(("one 100 MB member".into(), p, au.clone()));

    // A real bundle: synthetic Red-Hat-shaped signatures that verify (made by `gen`).
    if legit_releases > 0 {
        let data = dir.join("legit");
        let digests = gen(&data, legit_releases, 2)?;
        let p = dir.join(format!("legit-{legit_releases}.tar.zst"));
        if !p.exists() {
            let list = dir.join("legit-list.txt");
            std::fs::write(&list, digests.iter().map(|d| format!("{d}\n")).collect::<String>()).map_err(err("list"))?;
            let pack = bin_dir.join("pack");
            let out = Command::new(&pack)
                .arg("--store")
                .arg(data.join("store"))
                .arg("--keyring")
                .arg(data.join("release-key.asc"))
                .args(["--no-sign", "-q", "--force", "-o"])
                .arg(&p)
                .arg("--from-file")
                .arg(&list)
                .output()
                .map_err(err("pack"))?;
            if !out.status.success() {
                return Err(format!("pack: {}", String::from_utf8_lossy(&out.stderr)));
            }
        }
        let keyring = data.join("release-key.asc").display().to_string();
        cases.push((
            format!("real: {legit_releases} releases × 2 signatures (verifies)"),
            p,
            vec!["--allow-unsigned".into(), "--keyring".into(), keyring],
        ));
    }

    println!("| bundle | size | exit | peak RSS | wall |");
    println!("|---|---:|---:|---:|---:|");
    for (what, path, extra) in &cases {
        let path_s = path.display().to_string();
        let mut cmd = vec![unpack.as_str(), "verify", path_s.as_str()];
        cmd.extend(extra.iter().map(String::as_str));
        let (m, ok, text) = measure_status(&cmd, &dir, None)?;
        let size = std::fs::metadata(path).map_err(err("size"))?.len();
        let first = text
            .lines()
            .find(|l| l.starts_with("unpack: error") || l.starts_with("OK:"))
            .unwrap_or("")
            .chars()
            .take(110)
            .collect::<String>();
        println!(
            "| {what} | {:.1} MB | {} | {:.0} MiB | {:.2} s |",
            size as f64 / 1e6,
            if ok { 0 } else { 1 },
            m.rss_kib as f64 / 1024.0,
            m.wall
        );
        eprintln!("  {first}");
    }
    Ok(())
}
