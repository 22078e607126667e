//! Shared test support: run the built binaries in a temp dir per test, fixture paths, a
//! loopback HTTP server that serves a folder in the signature-store layout (with fault
//! switches), and helpers to craft bundles byte by byte.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub const RH_4_15_0: &str =
    "sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363";
pub const RH_4_10_18: &str =
    "sha256:195de2a5ef3af1083620a62a45ea61ac1233ffa27bbce7b30609a69775aeca19";
pub const RH_4_15_46: &str =
    "sha256:ea0429e14dc9ff007f56d5db2b75209c2510d81e6869194e33a53352d2b6a4fa";
pub const RH_ALL: [&str; 3] = [RH_4_15_0, RH_4_10_18, RH_4_15_46];

/// A fixture path under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The result of running a binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub raw_stdout: Vec<u8>,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
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
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            envs: vec![("SOURCE_DATE_EPOCH".into(), "1700000000".into())],
        }
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
            self.command(bin, args)
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        )
    }

    pub fn run_env(&self, bin: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.command(bin, args);
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(c.stdin(Stdio::null()).output().unwrap())
    }

    /// Generate a packer key pair `<name>.key` / `<name>.pub.asc` in the temp dir.
    pub fn packer_key(&self, name: &str) -> (PathBuf, PathBuf) {
        self.run(
            "pack",
            &[
                "key",
                "generate",
                "--name",
                &format!("{name} <{name}@example.org>"),
                "-o",
                name,
            ],
        )
        .code(0);
        (
            self.path(&format!("{name}.key")),
            self.path(&format!("{name}.pub.asc")),
        )
    }

    /// Pack the three real Red Hat releases from the fixture store, unsigned.
    pub fn pack_unsigned(&self, out: &str, compression: &str) -> Run {
        let store = fixture("stores/redhat");
        let mut args = vec![
            "--store",
            store.to_str().unwrap(),
            "--no-sign",
            "--compression",
            compression,
            "-o",
            out,
            "-q",
        ];
        args.extend(RH_ALL);
        self.run("pack", &args)
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
    /// Redirect every request to this URL prefix + path.
    pub redirect_to: Mutex<Option<String>>,
    /// Promise a longer body than sent, then close.
    pub truncate: AtomicBool,
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
        StoreServer {
            url,
            faults,
            requests,
        }
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn take_one(a: &AtomicUsize) -> bool {
    a.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn handle(
    stream: TcpStream,
    root: &Path,
    f: &Faults,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
                break;
            }
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        log.lock().unwrap().push(path.clone());
        let delay = f.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            thread::sleep(Duration::from_millis(delay as u64));
        }
        if take_one(&f.reset_first) {
            return Ok(()); // drop the connection unanswered
        }
        let status = f.always_status.load(Ordering::SeqCst);
        if status != 0 {
            respond(&mut out, status as u16, b"")?;
            continue;
        }
        if take_one(&f.fail_first) {
            respond(&mut out, 500, b"boom")?;
            continue;
        }
        if let Some(to) = f.redirect_to.lock().unwrap().clone() {
            let msg =
                format!("HTTP/1.1 302 Found\r\nLocation: {to}{path}\r\nContent-Length: 0\r\n\r\n");
            out.write_all(msg.as_bytes())?;
            continue;
        }
        let rel = path.trim_start_matches('/');
        let file = root.join(rel);
        if rel.split('/').any(|c| c == "..") || !file.is_file() {
            respond(&mut out, 404, b"not found")?;
            continue;
        }
        let mut body = Vec::new();
        std::fs::File::open(&file)?.read_to_end(&mut body)?;
        if f.truncate.load(Ordering::SeqCst) {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                body.len() + 100
            );
            out.write_all(head.as_bytes())?;
            out.write_all(&body[..body.len() / 2])?;
            return Ok(());
        }
        respond(&mut out, 200, &body)?;
    }
}

fn respond(out: &mut TcpStream, status: u16, body: &[u8]) -> std::io::Result<()> {
    let head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n", body.len());
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
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
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
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

/// Whether a command exists on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}
