//! The hostile-bundle corpus through all three commands that act on a bundle: each case must
//! exit 1 from `verify`, `emit` and `apply`, write no file, send no request to the cluster, and
//! leave exactly one `refused` audit record per command.

mod common;

use common::kubeapi::KubeApi;
use common::*;
use sigbundle::bundle::{write_bundle, Compression};
use sigbundle::manifest::Manifest;

/// (name, bytes) of every hostile case that fails under `--allow-unsigned` and Red Hat's keys,
/// built from a real unsigned bundle.
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
    out.push(("pax-header".into(), raw(b"PaxHeaders/x", b'x')));
    out.push(("gnu-longname".into(), raw(b"././@LongLink", b'L')));
    let mut v: serde_json::Value = serde_json::from_slice(&mb).unwrap();
    v["releases"][0]["note"] = serde_json::Value::String("unknown".into());
    out.push((
        "unknown-field".into(),
        write_bundle(
            Vec::new(),
            Compression::None,
            0,
            v.to_string().as_bytes(),
            None,
            &members,
        )
        .unwrap(),
    ));
    // Release B's signature filed under release A, with a manifest that agrees.
    let (mut wrong, mut wmem) = (manifest.clone(), members.clone());
    let (pa, pb) = (
        wrong.releases[0].signatures[0].path.clone(),
        wrong.releases[1].signatures[0].path.clone(),
    );
    let bytes_b = wmem.iter().find(|m| m.0 == pb).unwrap().1.clone();
    replace_member(&mut wrong, &mut wmem, &pa, bytes_b);
    out.push(("wrong-digest".into(), craft(&wrong, &wmem)));
    // A signature by a key that is not Red Hat's (packed under the containers-image keyring).
    let hex = "20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55";
    let store = env.path(&format!("ci-store/sha256={hex}"));
    std::fs::create_dir_all(&store).unwrap();
    std::fs::copy(
        fixture("malformed/containers-image/image.signature"),
        store.join("signature-1"),
    )
    .unwrap();
    let pubring = fixture("malformed/containers-image/pubring.gpg");
    let digest = format!("sha256:{hex}");
    env.run(
        "pack",
        &[
            "--store",
            "ci-store",
            "--keyring",
            pubring.to_str().unwrap(),
            "--no-sign",
            "-o",
            "ci.tar.zst",
            &digest,
        ],
    )
    .code(0);
    out.push((
        "untrusted-release-signer".into(),
        std::fs::read(env.path("ci.tar.zst")).unwrap(),
    ));
    // A 64 MiB + 1 manifest, and more than 1 GiB of zeros in a few KiB.
    for (name, path, size) in [
        ("huge-manifest", "manifest.json", (64u64 << 20) + 1),
        ("bomb", "signatures/zeros", (1u64 << 30) + 1),
    ] {
        let mut z = zstd::Encoder::new(Vec::new(), 3).unwrap();
        {
            let mut t = tar::Builder::new(&mut z);
            if path != "manifest.json" {
                let mut h = tar::Header::new_ustar();
                h.set_path("manifest.json").unwrap();
                h.set_size(mb.len() as u64);
                h.set_cksum();
                t.append(&h, mb.as_slice()).unwrap();
            }
            let mut h = tar::Header::new_ustar();
            h.set_path(path).unwrap();
            h.set_size(size);
            h.set_cksum();
            t.append(&h, std::io::Read::take(std::io::repeat(b' '), size)).unwrap();
            t.finish().unwrap();
        }
        out.push((name.into(), z.finish().unwrap()));
    }
    out
}

/// Cases that fail only because of who packed them: (name, bytes, how unpack is told to check).
fn packer_corpus(env: &Env) -> Vec<(String, Vec<u8>, Vec<String>)> {
    let (key, public) = env.packer_key("ops");
    let (mallory, _) = env.packer_key("mallory");
    let store = fixture("stores/redhat");
    let store = store.to_str().unwrap();
    let pk = vec!["--packer-key".to_string(), public.display().to_string()];
    env.run("pack", &["--store", store, "--no-sign", "-o", "u.tar.zst", RH_4_15_0])
        .code(0);
    env.run(
        "pack",
        &[
            "--store",
            store,
            "--sign-key",
            mallory.to_str().unwrap(),
            "-o",
            "m.tar.zst",
            RH_4_15_0,
        ],
    )
    .code(0);
    env.run(
        "pack",
        &[
            "--store",
            store,
            "--sign-key",
            key.to_str().unwrap(),
            "--compression",
            "none",
            "-o",
            "s.tar",
            RH_4_15_0,
        ],
    )
    .code(0);
    let signed = std::fs::read(env.path("s.tar")).unwrap();
    let tampered = tamper_signed_manifest(&signed, "\"created\": \"2023", "\"created\": \"2024");
    vec![
        (
            "unsigned-without-allow".into(),
            std::fs::read(env.path("u.tar.zst")).unwrap(),
            pk.clone(),
        ),
        (
            "untrusted-packer".into(),
            std::fs::read(env.path("m.tar.zst")).unwrap(),
            pk.clone(),
        ),
        ("tampered-after-signing".into(), tampered, pk),
    ]
}

#[test]
fn every_hostile_case_is_refused_by_verify_emit_and_apply() {
    let env = Env::new();
    let api = KubeApi::start(env.dir.path());
    api.kubeconfig(&env.path("kubeconfig"));
    let mut cases: Vec<(String, Vec<u8>, Vec<String>)> = corpus(&env)
        .into_iter()
        .map(|(n, b)| (n, b, vec!["--allow-unsigned".to_string()]))
        .collect();
    cases.extend(packer_corpus(&env));
    assert_eq!(cases.len(), 27);
    let mut records = env.audit_records().len();
    for (name, bytes, check) in &cases {
        let file = format!("{name}.bundle");
        std::fs::write(env.path(&file), bytes).unwrap();
        let check: Vec<&str> = check.iter().map(String::as_str).collect();
        for target in [vec![], vec!["--to-dir", "out"], vec!["--kubeconfig", "kubeconfig"]] {
            let verb = match target.first() {
                None => "verify",
                Some(&"--to-dir") => "emit",
                _ => "apply",
            };
            let mut cmd = vec![verb, file.as_str()];
            cmd.extend(&check);
            cmd.extend(&target);
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
