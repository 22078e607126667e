//! The hostile-bundle corpus through all three commands that act on a bundle: each case must
//! exit 1 from `verify`, `emit` and `apply`, write no file, send no request to the cluster, and
//! leave exactly one `refused` audit record per command.

mod common;

use common::kubeapi::KubeApi;
use common::*;
use sigbundle::bundle::{write_bundle, Compression};
use sigbundle::manifest::Manifest;

/// (name, bytes) of every hostile case, built from a real unsigned bundle.
fn corpus(env: &Env) -> Vec<(String, Vec<u8>)> {
    env.pack_unsigned("plain.tar", "none").code(0);
    let plain = std::fs::read(env.path("plain.tar")).unwrap();
    let mut members = tar_members(&plain);
    let manifest = Manifest::parse(&members.remove(0).1).unwrap();
    let mb = manifest.to_bytes();
    let craft = |m: &Manifest, mem: &[(String, Vec<u8>)]| {
        write_bundle(Vec::new(), Compression::None, 0, &m.to_bytes(), None, mem).unwrap()
    };
    let raw = |name: &[u8], kind: u8| raw_tar(&[(b"manifest.json", b'0', &mb), (name, kind, b"x")]);
    let mut out = vec![
        ("traversal".to_string(), raw(b"../../etc/cron.d/x", b'0')),
        ("absolute".into(), raw(b"/etc/passwd", b'0')),
        ("dot".into(), raw(b"./signatures/x", b'0')),
        ("backslash".into(), raw(b"signatures\\..\\x", b'0')),
        ("control".into(), raw(b"sig\x1b]0;owned\x07", b'0')),
        ("symlink".into(), raw(b"signatures/l", b'2')),
        ("hardlink".into(), raw(b"signatures/h", b'1')),
        ("device".into(), raw(b"signatures/d", b'4')),
        ("fifo".into(), raw(b"signatures/f", b'6')),
    ];
    let mut extra = members.clone();
    extra.push(("signatures/zz-extra".into(), b"x".to_vec()));
    out.push(("unlisted".into(), craft(&manifest, &extra)));
    let mut missing = members.clone();
    missing.pop();
    out.push(("missing".into(), craft(&manifest, &missing)));
    let mut flipped = members.clone();
    flipped[0].1[50] ^= 1;
    out.push(("sha256-mismatch".into(), craft(&manifest, &flipped)));
    let mut dup = members.clone();
    dup.insert(1, dup[0].clone());
    out.push(("duplicate".into(), craft(&manifest, &dup)));
    let mut future = manifest.clone();
    future.format = "sigbundle/v9".into();
    out.push(("unknown-format".into(), craft(&future, &members)));
    let mut truncated = plain.clone();
    truncated.truncate(plain.len() / 2);
    out.push(("truncated".into(), truncated));
    let mut garbage = plain.clone();
    garbage.extend_from_slice(b"garbage after the end");
    out.push(("trailing-garbage".into(), garbage));
    out.push(("wrong-magic".into(), b"\xfd7zXZ\x00 not a bundle".to_vec()));
    out
}

#[test]
fn every_hostile_case_is_refused_by_verify_emit_and_apply() {
    let env = Env::new();
    let api = KubeApi::start(env.dir.path());
    api.kubeconfig(&env.path("kubeconfig"));
    let cases = corpus(&env);
    assert_eq!(cases.len(), 17);
    let mut records = env.audit_records().len();
    for (name, bytes) in &cases {
        let file = format!("{name}.bundle");
        std::fs::write(env.path(&file), bytes).unwrap();
        for cmd in [
            vec!["verify", file.as_str(), "--allow-unsigned"],
            vec!["emit", file.as_str(), "--allow-unsigned", "--to-dir", "out"],
            vec!["apply", file.as_str(), "--allow-unsigned", "--kubeconfig", "kubeconfig"],
        ] {
            let r = env.run("unpack", &cmd);
            r.code(1);
            assert!(r.stderr.contains("bundle rejected"), "{name} {}: {}", cmd[0], r.stderr);
            assert!(
                !r.stderr.contains('\x1b') && !r.stderr.contains('\x07'),
                "{name}: a control character reached the terminal"
            );
            let recs = env.audit_records();
            assert_eq!(recs.len(), records + 1, "{name} {}: one audit record", cmd[0]);
            assert_eq!(recs[records]["outcome"], "refused", "{name} {}", cmd[0]);
            assert_eq!(recs[records]["action"], cmd[0]);
            records += 1;
        }
        assert!(!env.path("out").exists(), "{name}: emit wrote something");
        assert!(
            api.state.log.lock().unwrap().is_empty(),
            "{name}: apply reached the cluster"
        );
    }
    env.run("unpack", &["audit", "--check"])
        .code(0)
        .stdout_has(&format!("intact: {records} record(s)"));
}
