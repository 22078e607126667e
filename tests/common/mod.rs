//! Shared test support: run the built binaries in a temp dir per test, fixture paths, stores
//! and packs made from the fixtures (`Env::pack_signed`, `Env::pack_unsigned`,
//! `Env::write_store`, …), a loopback HTTP server that serves a folder in the signature-store
//! layout (with fault switches), the loopback Kubernetes API (`Env::cluster`), helpers to craft
//! bundles byte by byte, and snapshots of runs (`assert_run_snapshot!`, tests/snapshots.rs).
#![allow(dead_code)]

pub mod kubeapi;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub const RH_4_15_0: &str = "sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363";
pub const RH_4_10_18: &str = "sha256:195de2a5ef3af1083620a62a45ea61ac1233ffa27bbce7b30609a69775aeca19";
pub const RH_4_15_46: &str = "sha256:ea0429e14dc9ff007f56d5db2b75209c2510d81e6869194e33a53352d2b6a4fa";
pub const RH_ALL: [&str; 3] = [RH_4_15_0, RH_4_10_18, RH_4_15_46];

/// The store of real Red Hat signatures, for tests whose store is not the point.
pub const REDHAT_STORE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stores/redhat");
/// The digest containers/image's test signature (tests/fixtures/malformed/containers-image)
/// signs.
pub const CONTAINERS_IMAGE_DIGEST: &str = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55";

/// Red Hat's signature-1 of one of the real releases (`RH_*`), from the fixture store.
pub fn rh_signature(digest: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!(
        "stores/redhat/{}/signature-1",
        digest.replace("sha256:", "sha256=")
    )))
    .unwrap()
}

/// A fixture path under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// The result of running a binary.
pub struct Run {
    /// The binary and its arguments, as run (for snapshot headers).
    pub command: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw_stdout: Vec<u8>,
}

impl Run {
    fn from(bin: &str, args: &[&str], o: Output) -> Run {
        Run {
            command: std::iter::once(bin)
                .chain(args.iter().copied())
                .map(String::from)
                .collect(),
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            raw_stdout: o.stdout,
        }
    }

    /// Assert the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Run {
        assert_eq!(
            self.code, want,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }
}

/// A temp dir per test, in which the binaries run.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub envs: Vec<(String, String)>,
    /// What changes from run to run, and what snapshots show instead: (text, placeholder),
    /// registered as it is made (packer keys, signed bundles, audit records).
    redactions: Mutex<Vec<(String, String)>>,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state").display().to_string();
        Env {
            dir,
            envs: vec![
                ("SOURCE_DATE_EPOCH".into(), "1700000000".into()),
                ("XDG_STATE_HOME".into(), state),
            ],
            redactions: Mutex::new(Vec::new()),
        }
    }

    /// An Env whose runs print the same on every run, for snapshots: `pack` drives its
    /// fetches from one tokio worker, so with `--concurrency 1` (which [`Env::pack`] passes)
    /// its progress lines come in digest order.
    pub fn for_snapshots() -> Env {
        let mut env = Env::new();
        env.envs.push(("TOKIO_WORKER_THREADS".into(), "1".into()));
        env
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn command(&self, bin: &str, args: &[&str]) -> Command {
        let exe = match bin {
            "pack" => env!("CARGO_BIN_EXE_pack"),
            "unpack" => env!("CARGO_BIN_EXE_unpack"),
            other => panic!("no binary {other}"),
        };
        let mut c = Command::new(exe);
        c.args(args)
            .current_dir(self.dir.path())
            .env_remove("SIGBUNDLE_KEY_PASSPHRASE");
        c.env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY");
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, bin: &str, args: &[&str]) -> Run {
        Run::from(
            bin,
            args,
            self.command(bin, args).stdin(Stdio::null()).output().unwrap(),
        )
    }

    /// Run a binary with no kubeconfig anywhere: `HOME` an empty folder, `KUBECONFIG` unset.
    pub fn run_no_kubeconfig(&self, bin: &str, args: &[&str]) -> Run {
        let home = self.path("empty-home");
        std::fs::create_dir_all(&home).unwrap();
        let mut c = self.command(bin, args);
        c.env("HOME", &home).env_remove("KUBECONFIG");
        Run::from(bin, args, c.stdin(Stdio::null()).output().unwrap())
    }

    /// Run a binary and measure the peak resident set size of that one process (KiB) with
    /// GNU time (`/usr/bin/time`, Debian's `time`; `.ci/run` installs it). Not `wait4` from
    /// here: a child spawned from the test process inherits its high-water mark at `exec`,
    /// while one that `time` forks starts from `time`'s few hundred KiB.
    pub fn run_peak(&self, bin: &str, args: &[&str]) -> (Run, u64) {
        assert!(
            Path::new("/usr/bin/time").exists(),
            "/usr/bin/time is not installed (apt-get install time; .ci/run does)"
        );
        let report = tempfile::NamedTempFile::new().unwrap();
        let exe = self.command(bin, &[]).get_program().to_owned();
        let c = self.command(bin, args);
        let mut timed = Command::new("/usr/bin/time");
        timed
            .arg("-o")
            .arg(report.path())
            .args(["-f", "%M"])
            .arg(exe)
            .args(args)
            .current_dir(self.dir.path());
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => timed.env(k, v),
                None => timed.env_remove(k),
            };
        }
        let run = Run::from(bin, args, timed.stdin(Stdio::null()).output().unwrap());
        let text = std::fs::read_to_string(report.path()).unwrap();
        let kib = text
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .next_back()
            .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time: {text:?}"));
        (run, kib)
    }

    pub fn run_env(&self, bin: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.command(bin, args);
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(bin, args, c.stdin(Stdio::null()).output().unwrap())
    }

    /// Run a binary with stdout going to `stdout` (a pipe nobody reads, `/dev/full`); the
    /// returned run has stderr and the exit code.
    pub fn run_stdout_to(&self, bin: &str, args: &[&str], stdout: Stdio) -> Run {
        let o = self
            .command(bin, args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .output()
            .unwrap();
        Run::from(bin, args, o)
    }

    /// Run a binary with its stdout going to the file `out` of the temp dir (as `> out`
    /// would); the Run's stdout is empty.
    pub fn run_to_file(&self, bin: &str, args: &[&str], out: &str) -> Run {
        let file = std::fs::File::create(self.path(out)).unwrap();
        let o = self
            .command(bin, args)
            .stdin(Stdio::null())
            .stdout(file)
            .output()
            .unwrap();
        Run::from(bin, args, o)
    }

    /// `pack key generate` of a key pair `<name>.key` / `<name>.pub.asc` in the temp dir;
    /// its fingerprint is redacted from snapshots as `[FPR <name>]`.
    pub fn key_generate(&self, name: &str) -> Run {
        let r = self.run(
            "pack",
            &[
                "key",
                "generate",
                "--name",
                &format!("{name} <{name}@example.org>"),
                "-o",
                name,
            ],
        );
        let fpr = r.stdout.trim();
        if r.code == 0 && fpr.len() == 40 {
            self.redact(fpr, &format!("[FPR {name}]"));
            // The key ID, as tables and some errors show it.
            self.redact(&fpr[24..], &format!("[KEYID {name}]"));
            // The signing subkey, as the signatures name it (inspect's "signed by").
            let (_, sub) = gpg_fingerprints(&self.path(&format!("{name}.pub.asc")));
            self.redact(&sub, &format!("[SUBKEY {name}]"));
        }
        r
    }

    /// Generate a packer key pair `<name>.key` / `<name>.pub.asc` in the temp dir.
    pub fn packer_key(&self, name: &str) -> (PathBuf, PathBuf) {
        self.key_generate(name).code(0);
        (self.path(&format!("{name}.key")), self.path(&format!("{name}.pub.asc")))
    }

    /// The audit log records, parsed.
    pub fn audit_records(&self) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(self.path("state/sigbundle/audit.log")) {
            Ok(t) => t.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
            Err(_) => vec![],
        }
    }

    /// Copy a signature store of the fixtures (`stores/redhat`, `cvo-differential/stores/…`)
    /// into the temp dir as `dir` (once); returns `dir`, a path relative to where the binaries
    /// run. Packing from it, the manifest records the store as `dir`, not as a path of this
    /// checkout, so an unsigned bundle is the same bytes on every machine.
    pub fn store_from_fixture(&self, dir: &str, fixture_store: &str) -> String {
        if !self.path(dir).exists() {
            let from = fixture(fixture_store);
            for release in std::fs::read_dir(&from).unwrap() {
                let release = release.unwrap().path();
                for sig in std::fs::read_dir(&release).unwrap() {
                    let sig = sig.unwrap().path();
                    let to = self.path(dir).join(release.file_name().unwrap());
                    std::fs::create_dir_all(&to).unwrap();
                    std::fs::copy(&sig, to.join(sig.file_name().unwrap())).unwrap();
                }
            }
        }
        dir.to_string()
    }

    /// The three real Red Hat releases' store (`stores/redhat`), copied to `redhat/`.
    pub fn redhat_store(&self) -> String {
        self.store_from_fixture("redhat", "stores/redhat")
    }

    /// Write signatures into a store folder `dir` of the temp dir, in the layout the cluster
    /// and containers/image read: `<dir>/sha256=<hex>/signature-<n>`, numbered from 1 per
    /// release in the order given (after any already there). Returns the folder's path.
    pub fn write_store(&self, dir: &str, signatures: &[(&str, &[u8])]) -> PathBuf {
        for (digest, bytes) in signatures {
            let release = self.path(dir).join(digest.replace("sha256:", "sha256="));
            std::fs::create_dir_all(&release).unwrap();
            let n = (1..)
                .find(|n| !release.join(format!("signature-{n}")).exists())
                .unwrap();
            std::fs::write(release.join(format!("signature-{n}")), bytes).unwrap();
        }
        self.path(dir)
    }

    /// A store `dir` holding containers/image's test signature (by a key of its own, in
    /// `malformed/containers-image/pubring.gpg`, not Red Hat's); returns the digest it signs.
    pub fn containers_image_store(&self, dir: &str) -> String {
        let sig = std::fs::read(fixture("malformed/containers-image/image.signature")).unwrap();
        self.write_store(dir, &[(CONTAINERS_IMAGE_DIGEST, &sig)]);
        CONTAINERS_IMAGE_DIGEST.to_string()
    }

    /// `pack` of `releases` from the Red Hat store (copied into the temp dir), signed with
    /// the packer key `key` (a `.key` file) or unsigned, one release at a time (so the
    /// progress lines come in digest order). A signed bundle's sha256 and size, which change
    /// with every signature, are redacted from snapshots.
    pub fn pack(&self, key: Option<&Path>, out: &str, compression: &str, releases: &[&str]) -> Run {
        let store = self.redhat_store();
        let key = key.map(|k| k.display().to_string());
        let mut args = vec!["--store", &store];
        match &key {
            Some(k) => args.extend(["--sign-key", k.as_str()]),
            None => args.push("--no-sign"),
        }
        args.extend(["--compression", compression, "--concurrency", "1", "-o", out]);
        args.extend(releases);
        let r = self.run("pack", &args);
        if r.code == 0 && key.is_some() && out != "-" {
            self.redact_bundle(out);
        }
        r
    }

    /// Pack the three real Red Hat releases, unsigned.
    pub fn pack_unsigned(&self, out: &str, compression: &str) -> Run {
        self.pack(None, out, compression, &RH_ALL)
    }

    /// Pack the three real Red Hat releases, signed by the packer key `ops` (generated on first
    /// use, then reused); returns the run and the path of the public key.
    pub fn pack_signed(&self, out: &str, compression: &str) -> (Run, PathBuf) {
        if !self.path("ops.key").exists() {
            self.packer_key("ops");
        }
        let run = self.pack(Some(Path::new("ops.key")), out, compression, &RH_ALL);
        (run, self.path("ops.pub.asc"))
    }

    /// The loopback Kubernetes API (tests/common/kubeapi.rs), with a kubeconfig for it at
    /// `kubeconfig` in the temp dir.
    pub fn cluster(&self) -> kubeapi::KubeApi {
        let api = kubeapi::KubeApi::start(self.dir.path());
        api.kubeconfig(&self.path("kubeconfig"));
        api
    }

    /// Show `placeholder` instead of `literal` (matched without regard to case) in snapshots.
    pub fn redact(&self, literal: &str, placeholder: &str) {
        assert!(!literal.is_empty());
        let r = (literal.to_string(), placeholder.to_string());
        self.redactions.lock().unwrap().push(r);
    }

    /// Redact what changes with every signature of the bundle `file`: its sha256 (whole, and
    /// the 16-digit head the audit listing shows) and its size (by one byte or two, with the
    /// signature's; two signed bundles may have the same, so the size is not named by file).
    pub fn redact_bundle(&self, file: &str) {
        use sha2::Digest;
        let bytes = std::fs::read(self.path(file)).unwrap();
        let sha = hex::encode(sha2::Sha256::digest(&bytes));
        self.redact(&sha, &format!("[SHA256 {file}]"));
        self.redact(&sha[..16], &format!("[SHA256 {file}]"));
        let n = bytes.len();
        for (from, to) in [
            (format!("({n} bytes, "), "([SIZE] bytes, ".to_string()),
            (format!("\"bytes\": {n},"), "\"bytes\": [SIZE],".to_string()),
            (format!("\"size\": {n},"), "\"size\": [SIZE],".to_string()),
        ] {
            self.redact(&from, &to);
        }
    }

    /// Redact the hashes of the audit log's records (they cover each record's time) as
    /// `[HASH <seq>]`.
    pub fn redact_audit_hashes(&self) {
        for r in self.audit_records() {
            if let (Some(seq), Some(hash)) = (r["seq"].as_u64(), r["hash"].as_str()) {
                self.redact(hash, &format!("[HASH {seq}]"));
            }
        }
    }

    /// The insta settings of a snapshot of `run`: the command as its description, and filters
    /// for the temp dir, the fixtures, elapsed times, the time of day, loopback ports and what
    /// [`Env::redact`] registered.
    pub fn snapshot_settings(&self, run: &Run) -> insta::Settings {
        let fixtures = fixture("").display().to_string();
        let mut literals = vec![
            (self.dir.path().display().to_string(), "[TEMP]".to_string()),
            (fixtures.trim_end_matches('/').to_string(), "[FIXTURES]".to_string()),
        ];
        literals.extend(self.redactions.lock().unwrap().iter().cloned());
        let mut settings = insta::Settings::clone_current();
        for (text, placeholder) in &literals {
            settings.add_filter(&format!("(?i){}", regex_escape(text)), placeholder.as_str());
        }
        let today = now_dates().join("|");
        for (regex, placeholder) in [
            (r"in \d+\.\d+s\b".to_string(), "in [ELAPSED]s"),
            (
                r#""elapsed_seconds": [0-9.e-]+"#.into(),
                r#""elapsed_seconds": [ELAPSED]"#,
            ),
            (r#""signed_at": \d+"#.into(), r#""signed_at": [NOW]"#),
            (format!(r"\b(?:{today})T\d\d:\d\d:\d\d(?:\.\d+)?Z"), "[NOW]"),
            (r"127\.0\.0\.1:\d+".into(), "127.0.0.1:[PORT]"),
        ] {
            settings.add_filter(&regex, placeholder);
        }
        // The description is metadata, which filters do not touch: the same by hand.
        let mut description = run.command.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ");
        for (text, placeholder) in &literals {
            description = description.replace(text.as_str(), placeholder);
        }
        settings.set_description(without_ports(&description));
        settings.set_omit_expression(true);
        settings
    }

    /// List files in a folder of the temp dir (sorted names), or empty if it does not exist.
    pub fn ls(&self, rel: &str) -> Vec<String> {
        let mut v: Vec<String> = match std::fs::read_dir(self.path(rel)) {
            Ok(rd) => rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => vec![],
        };
        v.sort();
        v
    }
}

/// Fault switches of the loopback store server.
#[derive(Default)]
pub struct Faults {
    /// Answer this many requests with 500 before serving normally.
    pub fail_first: AtomicUsize,
    /// Sleep this many milliseconds before each answer.
    pub delay_ms: AtomicUsize,
    /// Close the connection without answering for this many requests.
    pub reset_first: AtomicUsize,
    /// Answer every request with this status (0: off).
    pub always_status: AtomicUsize,
    /// Answer requests whose path ends with this suffix with this status.
    pub status_for_suffix: Mutex<Option<(String, u16)>>,
    /// Redirect requests for `/old<rest>` to this URL prefix + `<rest>`.
    pub redirect_to: Mutex<Option<String>>,
    /// Promise a longer body than sent, then close.
    pub truncate: AtomicBool,
    /// Send the headers, then stall this many milliseconds before the body.
    pub slow_body_ms: AtomicUsize,
    /// Gate `/v2/` behind an anonymous bearer-token challenge answered at `/token`.
    pub bearer_token: Mutex<Option<String>>,
    /// `/token` hands out a token the registry no longer accepts (expired).
    pub expired_token: AtomicBool,
}

/// A loopback HTTP/1.1 server serving a folder.
pub struct StoreServer {
    pub url: String,
    pub faults: Arc<Faults>,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl StoreServer {
    pub fn serve(root: &Path) -> StoreServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let faults = Arc::new(Faults::default());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (root, f, r) = (root.to_path_buf(), faults.clone(), requests.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (root, f, r) = (root.clone(), f.clone(), r.clone());
                thread::spawn(move || {
                    let _ = handle(stream, &root, &f, &r);
                });
            }
        });
        StoreServer { url, faults, requests }
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn take_one(a: &AtomicUsize) -> bool {
    a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn handle(stream: TcpStream, root: &Path, f: &Faults, log: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut authorization = String::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("authorization") {
                    authorization = v.trim().to_string();
                }
            }
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("GET").to_string();
        let target = parts.next().unwrap_or("/").to_string();
        log.lock().unwrap().push(target.clone());
        let head_only = method == "HEAD";
        let path = target.split('?').next().unwrap_or("/").to_string();
        let delay = f.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            thread::sleep(Duration::from_millis(delay as u64));
        }
        if take_one(&f.reset_first) {
            return Ok(()); // drop the connection unanswered
        }
        let status = f.always_status.load(Ordering::SeqCst);
        if status != 0 {
            respond(&mut out, status as u16, &[], b"", head_only)?;
            continue;
        }
        if let Some((suffix, code)) = f.status_for_suffix.lock().unwrap().clone() {
            if path.ends_with(&suffix) {
                respond(&mut out, code, &[], b"", head_only)?;
                continue;
            }
        }
        if take_one(&f.fail_first) {
            respond(&mut out, 500, &[], b"boom", head_only)?;
            continue;
        }
        if let (Some(to), Some(rest)) = (f.redirect_to.lock().unwrap().clone(), path.strip_prefix("/old")) {
            respond(&mut out, 302, &[("Location", format!("{to}{rest}"))], b"", head_only)?;
            continue;
        }
        if let Some(token) = f.bearer_token.lock().unwrap().clone() {
            if path == "/token" {
                let given = if f.expired_token.load(Ordering::SeqCst) {
                    "expired".to_string()
                } else {
                    token.clone()
                };
                let body = format!("{{\"token\":\"{given}\"}}");
                respond(&mut out, 200, &[], body.as_bytes(), head_only)?;
                continue;
            }
            if path.starts_with("/v2/") && authorization != format!("Bearer {token}") {
                let host = out.local_addr()?;
                let challenge = format!(
                    "Bearer realm=\"http://{host}/token\",service=\"test-registry\",scope=\"repository:ocp/release:pull\""
                );
                respond(&mut out, 401, &[("WWW-Authenticate", challenge)], b"", head_only)?;
                continue;
            }
        }
        let rel = path.trim_start_matches('/');
        // A file named with the query too (`graph?channel=c&arch=a`) answers that query only.
        let with_query = root.join(rel.to_string() + &target[path.len()..]);
        let file = if target.len() > path.len() && !target[path.len()..].contains('/') && with_query.is_file() {
            with_query
        } else {
            root.join(rel)
        };
        if rel.split('/').any(|c| c == "..") || !file.is_file() {
            respond(&mut out, 404, &[], b"not found", head_only)?;
            continue;
        }
        let mut body = Vec::new();
        std::fs::File::open(&file)?.read_to_end(&mut body)?;
        if f.truncate.load(Ordering::SeqCst) {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len() + 100);
            out.write_all(head.as_bytes())?;
            out.write_all(&body[..body.len() / 2])?;
            return Ok(());
        }
        let stall = f.slow_body_ms.load(Ordering::SeqCst);
        if stall > 0 {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            out.write_all(head.as_bytes())?;
            out.write_all(&body[..1])?;
            out.flush()?;
            thread::sleep(Duration::from_millis(stall as u64));
            out.write_all(&body[1..])?;
            continue;
        }
        respond(&mut out, 200, &[], &body, head_only)?;
    }
}

fn respond(
    out: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if !head_only {
        out.write_all(body)?;
    }
    out.flush()
}

/// Write a plain tar with raw member names (no validation), for hostile bundles.
pub fn raw_tar(members: &[(&[u8], u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, data) in members {
        let mut h = tar::Header::new_ustar();
        {
            let raw = h.as_old_mut();
            raw.name = [0; 100];
            raw.name[..name.len()].copy_from_slice(name);
        }
        // Every other field as pack writes it, so only the name and the type are hostile.
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_username("").unwrap();
        h.set_groupname("").unwrap();
        h.set_entry_type(tar::EntryType::new(*kind));
        if *kind == b'2' {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        out.extend(std::iter::repeat_n(0u8, pad));
    }
    out.extend(std::iter::repeat_n(0u8, 1024));
    out
}

/// A tar header exactly as pack writes one (ustar, mode 0644, uid/gid 0, no names, mtime 0).
pub fn pack_header(path: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(path).unwrap();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_username("").unwrap();
    h.set_groupname("").unwrap();
    h.set_cksum();
    h
}

/// A zstd encoder as pack makes one (level 3, with the frame checksum).
pub fn zstd_encoder<W: Write>(w: W) -> zstd::Encoder<'static, W> {
    let mut z = zstd::Encoder::new(w, 3).unwrap();
    z.include_checksum(true).unwrap();
    z
}

/// The members of a plain (uncompressed) tar: (name, data).
pub fn tar_members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(bytes);
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut d = Vec::new();
            e.read_to_end(&mut d).unwrap();
            (name, d)
        })
        .collect()
}

/// Put `bytes` into member `path` and keep the manifest consistent with it (its member entry
/// and its signature entry), as a tamperer who rewrites the manifest too would.
pub fn replace_member(
    manifest: &mut sigbundle::manifest::Manifest,
    members: &mut [(String, Vec<u8>)],
    path: &str,
    bytes: Vec<u8>,
) {
    use sha2::Digest;
    let (size, sha) = (bytes.len() as u64, hex::encode(sha2::Sha256::digest(&bytes)));
    members.iter_mut().find(|m| m.0 == path).unwrap().1 = bytes;
    for m in manifest.members.iter_mut().filter(|m| m.path == path) {
        (m.size, m.sha256) = (size, sha.clone());
    }
    for s in manifest
        .releases
        .iter_mut()
        .flat_map(|r| &mut r.signatures)
        .filter(|s| s.path == path)
    {
        (s.size, s.sha256) = (size, sha.clone());
    }
}

/// A signed, uncompressed bundle whose manifest text had `from` replaced by `to` after signing,
/// the packer's signature kept.
pub fn tamper_signed_manifest(signed_tar: &[u8], from: &str, to: &str) -> Vec<u8> {
    let mut members = tar_members(signed_tar);
    let manifest = String::from_utf8(members.remove(0).1).unwrap();
    assert!(manifest.contains(from), "{from:?} is not in the manifest");
    let sig = members.remove(0).1;
    let manifest = manifest.replace(from, to).into_bytes();
    let c = sigbundle::bundle::Compression::None;
    sigbundle::bundle::write_bundle(Vec::new(), c, 0, &manifest, Some(&sig), &members).unwrap()
}

/// Whether a command exists on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A real registry: Debian's `docker-registry` (distribution), on a free loopback port, with
/// its storage in a temp dir; optionally behind basic auth (htpasswd with bcrypt).
pub struct RegistryProcess {
    pub host: String,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RegistryProcess {
    pub fn start(basic_auth: Option<(&str, &str)>) -> RegistryProcess {
        assert!(
            have("docker-registry"),
            "docker-registry is not installed (apt-get install docker-registry; .ci/run does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((user, pass)) = basic_auth {
            let hash = bcrypt::hash(pass, 4).unwrap();
            std::fs::write(dir.path().join("htpasswd"), format!("{user}:{hash}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let host = format!("127.0.0.1:{port}");
        for _ in 0..200 {
            if TcpStream::connect(&host).is_ok() {
                return RegistryProcess { host, child, _dir: dir };
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("docker-registry did not start on {host}");
    }

    /// Push a blob; returns its digest.
    pub fn push_blob(&self, repo: &str, data: &[u8], auth: Option<&str>) -> String {
        use sha2::Digest;
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)));
        let (status, headers, _) = http(
            &self.host,
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            b"",
            auth,
        );
        assert_eq!(status, 202, "start upload");
        let location = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("location"))
            .unwrap()
            .1
            .clone();
        let path = match location.split_once("://") {
            Some((_, rest)) => rest[rest.find('/').unwrap()..].to_string(),
            None => location,
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let put = format!("{path}{sep}digest={digest}");
        let (status, _, body) = http(
            &self.host,
            "PUT",
            &put,
            &[("Content-Type", "application/octet-stream")],
            data,
            auth,
        );
        assert_eq!(status, 201, "finish upload: {}", String::from_utf8_lossy(&body));
        digest
    }

    /// Push a manifest or index under a tag; returns the digest the registry reports.
    pub fn push_manifest(&self, repo: &str, tag: &str, media_type: &str, body: &[u8], auth: Option<&str>) -> String {
        let path = format!("/v2/{repo}/manifests/{tag}");
        let (status, headers, resp) = http(&self.host, "PUT", &path, &[("Content-Type", media_type)], body, auth);
        assert_eq!(status, 201, "push manifest: {}", String::from_utf8_lossy(&resp));
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("docker-content-digest"))
            .unwrap()
            .1
            .clone()
    }

    /// Push an OCI image (empty config, no layers) and return (manifest bytes, digest).
    pub fn push_image(&self, repo: &str, tag: &str, arch: &str, auth: Option<&str>) -> (Vec<u8>, String) {
        let config = format!(r#"{{"architecture":"{arch}","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}}}}"#);
        let cd = self.push_blob(repo, config.as_bytes(), auth);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[]}}"#,
            config.len()
        );
        let d = self.push_manifest(
            repo,
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
            auth,
        );
        (manifest.into_bytes(), d)
    }
}

/// One plain-HTTP request to a loopback host: (status, headers, body).
pub fn http(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    basic: Option<&str>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut s = TcpStream::connect(host).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = basic {
        use base64::Engine;
        let enc = base64::engine::general_purpose::STANDARD.encode(b);
        req.push_str(&format!("Authorization: Basic {enc}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let hs = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (status, hs, raw[split + 4..].to_vec())
}

/// Run the real `gpg` in batch mode with its home at `home`.
pub fn gpg(home: &Path, args: &[&str]) -> Output {
    Command::new("gpg")
        .env("GNUPGHOME", home)
        .args([
            "--batch",
            "--yes",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .output()
        .expect("gpg is installed (.ci/run installs gnupg)")
}

/// A fresh GnuPG home with one RSA signing key, to make real release signatures for tests.
pub struct GpgSigner {
    pub home: PathBuf,
    pub public: PathBuf,
}

impl GpgSigner {
    pub fn new(env: &Env) -> GpgSigner {
        GpgSigner::named(env, "signer")
    }

    /// A signer of its own (`gnupg-<name>/`, public key `release-<name>.asc`).
    pub fn named(env: &Env, name: &str) -> GpgSigner {
        let home = env.path(&format!("gnupg-{name}"));
        std::fs::create_dir_all(&home).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        let g = GpgSigner {
            public: env.path(&format!("release-{name}.asc")),
            home,
        };
        g.gpg(&[
            "--quick-gen-key",
            &format!("Test Release {name} <{name}@example.org>"),
            "rsa2048",
            "sign",
            "never",
        ]);
        g.gpg(&["--armor", "--export", "--output", g.public.to_str().unwrap()]);
        g
    }

    fn gpg(&self, args: &[&str]) {
        let o = gpg(&self.home, args);
        assert!(
            o.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Write `store/sha256=<hex>/signature-<n>`: a signed atomic container signature payload.
    pub fn sign_into(&self, store: &Path, digest: &str, n: usize, identity: &str) {
        let dir = store.join(digest.replace("sha256:", "sha256="));
        std::fs::create_dir_all(&dir).unwrap();
        let payload = format!(
            r#"{{"critical": {{"type": "atomic container signature", "image": {{"docker-manifest-digest": "{digest}"}}, "identity": {{"docker-reference": "{identity}"}}}}, "optional": {{"creator": "sigbundle tests"}}}}"#
        );
        let input = dir.join(format!("payload-{n}.json"));
        std::fs::write(&input, payload).unwrap();
        let out = dir.join(format!("signature-{n}"));
        self.gpg(&["--sign", "--output", out.to_str().unwrap(), input.to_str().unwrap()]);
        std::fs::remove_file(input).unwrap();
    }
}

/// The write end of a pipe whose reader has already gone, as `| head -1` leaves it once `head`
/// has its line: every write gets EPIPE.
pub fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

/// Run `bin args…` with a terminal on stdin, stdout and stderr (util-linux `script`), in the
/// env's folder; returns what the terminal showed, ending with `EXIT=<code>`.
pub fn in_terminal(env: &Env, bin: &str, args: &str) -> String {
    in_terminal_typing(env, bin, args, "")
}

/// [`in_terminal`], with `typed` typed on the terminal (the terminal echoes what is typed
/// ahead of a prompt, so it shows in the output).
pub fn in_terminal_typing(env: &Env, bin: &str, args: &str, typed: &str) -> String {
    assert!(
        have("script"),
        "util-linux `script` is needed to give the binary a terminal"
    );
    let exe = match bin {
        "pack" => env!("CARGO_BIN_EXE_pack"),
        "unpack" => env!("CARGO_BIN_EXE_unpack"),
        other => panic!("no binary {other}"),
    };
    let mut child = Command::new("script")
        .args(["-qec", &format!("{exe} {args}; echo EXIT=$?"), "/dev/null"])
        .current_dir(env.dir.path())
        .envs(env.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(typed.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The primary fingerprint and the first subkey fingerprint of a public key file, as `gpg`
/// reads them.
pub fn gpg_fingerprints(public: &Path) -> (String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = gpg(
        home.path(),
        &[
            "--show-keys",
            "--with-colons",
            "--with-subkey-fingerprints",
            public.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let fprs: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("fpr:"))
        .map(|l| l.split(':').nth(9).unwrap())
        .collect();
    (fprs[0].to_string(), fprs[1].to_string())
}

/// A run as its snapshot shows it: the exit code, stdout and stderr (binary stdout by its size
/// and sha256; a stream not ending in a newline says so).
pub fn snapshot(run: &Run) -> String {
    fn section(text: &str) -> String {
        if text.is_empty() || text.ends_with('\n') {
            text.to_string()
        } else {
            format!("{text}\n[no newline at the end]\n")
        }
    }
    let stdout = match std::str::from_utf8(&run.raw_stdout) {
        Ok(s) => section(s),
        Err(_) => {
            use sha2::Digest;
            format!(
                "[{} bytes, not text, sha256 {}]\n",
                run.raw_stdout.len(),
                hex::encode(sha2::Sha256::digest(&run.raw_stdout))
            )
        }
    };
    format!(
        "exit: {}\n--- stdout\n{stdout}--- stderr\n{}",
        run.code,
        section(&run.stderr)
    )
}

/// Assert the snapshot of a run (`snapshot`), named, with the env's filters and the command
/// as its description: `assert_run_snapshot!("name", run, env)`.
#[macro_export]
macro_rules! assert_run_snapshot {
    ($name:expr, $run:expr, $env:expr) => {{
        let (run, env): (&$crate::common::Run, &$crate::common::Env) = (&$run, &$env);
        env.snapshot_settings(run)
            .bind(|| insta::assert_snapshot!($name, $crate::common::snapshot(run)));
    }};
}

/// `text` as a regex matching exactly it.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` with the port of every `127.0.0.1:<port>` shown as `[PORT]`.
fn without_ports(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            out.push_str("[PORT]");
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// An argument as a shell would need it quoted.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=@,+%[]".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Today's and yesterday's dates (UTC, `YYYY-MM-DD`): times of the run (audit records, packer
/// signatures) are on one of them, times from fixtures are not.
fn now_dates() -> Vec<String> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let today = secs.div_euclid(86_400);
    [today, today - 1].iter().map(|&d| civil_date(d)).collect()
}

/// The UTC date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
