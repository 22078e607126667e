//! Faults on the host: a full disk, a kill -9 in the middle of writing, a wrong clock. The
//! destination holds its old content or nothing, never a part.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;

#[test]
fn a_full_disk_on_stdout_is_a_clear_error() {
    let env = Env::new();
    let store = fixture("stores/redhat");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pack"))
        .args([
            "--store",
            store.to_str().unwrap(),
            "--no-sign",
            "-o",
            "-",
            "-q",
            RH_4_15_0,
        ])
        .current_dir(env.dir.path())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("standard output") && err.contains("No space left on device"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn kill_9_during_pack_leaves_the_old_bundle_intact() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    server.faults.delay_ms.store(300, Ordering::SeqCst);
    std::fs::write(env.path("b.tar.zst"), b"the previous bundle").unwrap();
    kill_pack_midway(
        &env,
        &["--store", &server.url, "--no-sign", "--force", "-o", "b.tar.zst"],
    );
    assert_eq!(std::fs::read(env.path("b.tar.zst")).unwrap(), b"the previous bundle");
    // Without an old file, a killed run leaves no file at the destination.
    kill_pack_midway(&env, &["--store", &server.url, "--no-sign", "-o", "new.tar.zst"]);
    assert!(!env.path("new.tar.zst").exists());
}

/// Start `pack` on the three releases, then SIGKILL it before it can finish (the store answers
/// after 300 ms; each release needs two answers).
fn kill_pack_midway(env: &Env, args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pack"))
        .args(args)
        .args(RH_ALL)
        .current_dir(env.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn a_wrong_clock_does_not_change_the_clusters_verdicts() {
    use sigbundle::digest::Digest;
    use sigbundle::verify::trust::ReleaseTrust;
    use sigbundle::verify::{verify_release_signature, Verdict};
    use std::time::UNIX_EPOCH;
    let bytes = rh_signature(RH_4_15_0);
    let d = Digest::parse(RH_4_15_0).unwrap();
    let ring = ReleaseTrust::default_release();
    // Years ahead: still valid (keys are judged as of the signature's creation).
    let ahead = UNIX_EPOCH + Duration::from_secs(4_102_444_800); // 2100
    let r = verify_release_signature(&ring, &d, &bytes, ahead, false);
    assert_eq!(r.verdict, Verdict::Valid);
    assert!(r.warnings.is_empty());
    // Years behind (before the signature was made): still valid, with a warning about the clock.
    let behind = UNIX_EPOCH + Duration::from_secs(946_684_800); // 2000
    let r = verify_release_signature(&ring, &d, &bytes, behind, false);
    assert_eq!(r.verdict, Verdict::Valid);
    assert!(
        r.warnings.iter().any(|w| w.contains("is the clock wrong")),
        "{:?}",
        r.warnings
    );
    // An expired signature stays expired with the clock ahead.
    let ci = ReleaseTrust::from_files(&[fixture("malformed/containers-image/pubring.gpg")]).unwrap();
    let expired = std::fs::read(fixture("malformed/containers-image/expired.signature")).unwrap();
    let any = Digest::parse("sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55").unwrap();
    let r = verify_release_signature(&ci, &any, &expired, ahead, false);
    assert!(matches!(r.verdict, Verdict::ExpiredSignature { .. }), "{r:?}");
}

#[test]
fn a_file_size_limit_during_emit_is_an_error_and_changes_nothing() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    std::fs::create_dir(env.path("cms")).unwrap();
    for d in RH_ALL {
        let f = env.path(&format!("cms/signature-sha256-{}.json", &d[7..23]));
        std::fs::write(f, b"old").unwrap();
    }
    let out = Command::new("prlimit")
        .args([
            "--fsize=1000",
            "--",
            env!("CARGO_BIN_EXE_unpack"),
            "emit",
            "b.tar.zst",
            "--allow-unsigned",
            "--to-dir",
            "cms",
            "--force",
        ])
        .current_dir(env.dir.path())
        .env("XDG_STATE_HOME", env.path("state"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("File too large"), "{err}");
    assert!(err.contains("cms/signature-sha256-"), "names the file: {err}");
    for name in env.ls("cms") {
        assert!(!name.ends_with(".tmp"), "a temporary file was left: {name}");
        assert_eq!(
            std::fs::read(env.path("cms").join(&name)).unwrap(),
            b"old",
            "{name} changed"
        );
    }
    assert_eq!(env.ls("cms").len(), 3);
    // The failure's audit record did not fit either: the log holds no partial record.
    assert!(err.contains("could not be recorded in the audit log"), "{err}");
    env.run("unpack", &["audit", "--check"]).code(0).stdout_has("intact");
}

#[test]
fn the_binaries_judge_signatures_the_same_with_the_clock_years_off() {
    if !have("faketime") {
        panic!("faketime is needed (.ci/run installs it)");
    }
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    for (when, warned) in [("2035-06-01 00:00:00", false), ("2005-06-01 00:00:00", true)] {
        let out = Command::new("faketime")
            .args([
                when,
                env!("CARGO_BIN_EXE_unpack"),
                "verify",
                "b.tar.zst",
                "--allow-unsigned",
            ])
            .current_dir(env.dir.path())
            .env("XDG_STATE_HOME", env.path("state"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{when}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout.contains("is the clock wrong"), warned, "{when}: {stdout}");
    }
    // The audit record carries the (wrong) time the host believed.
    let recs = env.audit_records();
    assert!(recs[0]["time"].as_str().unwrap().starts_with("2035-"));
    assert!(recs[1]["time"].as_str().unwrap().starts_with("2005-"));
}

#[test]
fn a_file_size_limit_during_pack_keeps_the_old_bundle() {
    let env = Env::new();
    std::fs::write(env.path("b.tar.zst"), b"the previous bundle").unwrap();
    let store = fixture("stores/redhat");
    let out = Command::new("prlimit")
        .args(["--fsize=2000", "--", env!("CARGO_BIN_EXE_pack")])
        .args([
            "--store",
            store.to_str().unwrap(),
            "--no-sign",
            "--compression",
            "none",
            "--force",
            "-o",
            "b.tar.zst",
        ])
        .args(RH_ALL)
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("b.tar.zst") && err.contains("File too large"), "{err}");
    assert_eq!(std::fs::read(env.path("b.tar.zst")).unwrap(), b"the previous bundle");
    assert!(env.ls(".").iter().all(|n| !n.ends_with(".tmp")), "{:?}", env.ls("."));
}

#[test]
fn kill_9_at_any_moment_of_emit_leaves_old_or_whole_files() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    std::fs::create_dir(env.path("cms")).unwrap();
    let names: Vec<String> = RH_ALL
        .iter()
        .map(|d| format!("signature-sha256-{}.json", &d[7..23]))
        .collect();
    for n in &names {
        std::fs::write(env.path("cms").join(n), b"old").unwrap();
    }
    for delay_ms in 0..25u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_unpack"))
            .args(["emit", "b.tar.zst", "--allow-unsigned", "--to-dir", "cms", "--force"])
            .current_dir(env.dir.path())
            .env("XDG_STATE_HOME", env.path("state"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        for n in &names {
            let got = std::fs::read(env.path("cms").join(n)).unwrap();
            let new = std::fs::read(fixture("golden").join(n)).unwrap();
            assert!(
                got == b"old" || got == new,
                "{n} after a kill at {delay_ms} ms holds neither the old nor the new bytes"
            );
        }
        // Put the old content back for the next round.
        for n in &names {
            std::fs::write(env.path("cms").join(n), b"old").unwrap();
        }
    }
}
