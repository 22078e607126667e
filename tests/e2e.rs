//! The first end-to-end path through the real binaries: pack (folder and HTTP stores) →
//! verify → emit, byte-compared with the `oc` format; reproducibility; and the refusals.

mod common;

use std::process::Command;

use common::*;
use sigbundle::bundle::{write_bundle, Compression};
use sigbundle::manifest::Manifest;

fn store_arg() -> String {
    fixture("stores/redhat").display().to_string()
}

#[test]
fn pack_from_folder_verify_emit_matches_oc_bytes() {
    let env = Env::new();
    let (r, public) = env.pack_signed("b.tar.zst", "zstd");
    r.code(0).stderr_has("packed 3 release(s), 3 signature(s)");

    let pk = public.to_str().unwrap();
    let v = env.run("unpack", &["verify", "b.tar.zst", "--packer-key", pk]);
    v.code(0)
        .stdout_has("signature verified")
        .stderr_has("OK: 3 release(s), 3 signature(s) verified");
    for d in RH_ALL {
        v.stdout_has(d);
    }
    v.stdout_has("quay.io/openshift-release-dev/ocp-release:4.15.46-x86_64");

    env.run("unpack", &["emit", "b.tar.zst", "--packer-key", pk, "--to-dir", "cms"])
        .code(0)
        .stdout_has("created");
    let golden = fixture("golden");
    let mut want: Vec<String> = std::fs::read_dir(&golden)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    want.sort();
    assert_eq!(env.ls("cms"), want);
    for name in &want {
        let got = std::fs::read(env.path("cms").join(name)).unwrap();
        let exp = std::fs::read(golden.join(name)).unwrap();
        assert!(
            got == exp,
            "{name} differs from oc's bytes:\n{}\n{}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&exp)
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("cms").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640, "{name}");
    }

    // A second emit leaves identical files alone.
    env.run("unpack", &["emit", "b.tar.zst", "--packer-key", pk, "--to-dir", "cms"])
        .code(0)
        .stdout_has("unchanged");
}

#[test]
fn pack_from_http_store_reads_until_first_404() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    env.run(
        "pack",
        &["--store", &server.url, "--no-sign", "-o", "h.tar.zst", RH_4_15_0],
    )
    .code(0);
    let reqs = server.requests.lock().unwrap().clone();
    let hex = &RH_4_15_0[7..];
    assert_eq!(
        reqs,
        [
            format!("/sha256={hex}/signature-1"),
            format!("/sha256={hex}/signature-2")
        ]
    );
    env.run("unpack", &["emit", "h.tar.zst", "--allow-unsigned", "--to-dir", "cms"])
        .code(0);
    let got = std::fs::read(env.path("cms/signature-sha256-0da6316466d60a3a.json")).unwrap();
    assert_eq!(
        got,
        std::fs::read(fixture("golden/signature-sha256-0da6316466d60a3a.json")).unwrap()
    );
}

#[test]
fn http_store_500s_are_retried() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    server.faults.fail_first.store(2, std::sync::atomic::Ordering::SeqCst);
    env.run(
        "pack",
        &["--store", &server.url, "--no-sign", "-o", "h.tar.zst", RH_4_15_0],
    )
    .code(0);
    assert_eq!(server.request_count(), 4, "two 500s, then signature-1 and signature-2");
}

#[test]
fn dead_store_is_an_io_error_naming_the_url() {
    let env = Env::new();
    let server = StoreServer::serve(&fixture("stores/redhat"));
    server
        .faults
        .always_status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    let r = env.run(
        "pack",
        &[
            "--store",
            &server.url,
            "--no-sign",
            "--retries",
            "1",
            "-o",
            "h.tar.zst",
            RH_4_15_0,
        ],
    );
    r.code(2)
        .stderr_has("HTTP 503")
        .stderr_has(&server.url)
        .stderr_has(RH_4_15_0);
    assert!(
        env.ls(".").iter().all(|f| !f.contains("h.tar.zst")),
        "{:?}",
        env.ls(".")
    );
}

#[test]
fn unsigned_packs_are_byte_identical_and_signed_differ_only_in_the_signature() {
    let env = Env::new();
    for comp in ["zstd", "gzip", "none"] {
        env.pack_unsigned(&format!("a.{comp}"), comp).code(0);
        env.pack_unsigned(&format!("b.{comp}"), comp).code(0);
        assert_eq!(
            std::fs::read(env.path(&format!("a.{comp}"))).unwrap(),
            std::fs::read(env.path(&format!("b.{comp}"))).unwrap(),
            "{comp}"
        );
    }
    // The same packer key signs both.
    for out in ["s1.tar", "s2.tar"] {
        env.pack_signed(out, "none").0.code(0);
    }
    let m1 = tar_members(&std::fs::read(env.path("s1.tar")).unwrap());
    let m2 = tar_members(&std::fs::read(env.path("s2.tar")).unwrap());
    let names: Vec<_> = m1.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(names[..2], ["manifest.json", "manifest.json.asc"]);
    assert_eq!(m1.len(), m2.len());
    for (a, b) in m1.iter().zip(&m2) {
        assert_eq!(a.0, b.0);
        if a.0 != "manifest.json.asc" {
            assert_eq!(a.1, b.1, "{} differs between two signed packs", a.0);
        }
    }
    // The manifest records SOURCE_DATE_EPOCH and nothing about the host or user.
    let manifest = String::from_utf8(m1[0].1.clone()).unwrap();
    assert!(manifest.contains("\"created\": \"2023-11-14T22:13:20Z\""), "{manifest}");
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    assert!(!manifest.contains(&format!("\"{user}\"")));
}

#[test]
fn pack_needs_sign_key_or_no_sign() {
    let env = Env::new();
    let r = env.run("pack", &["--store", "x", "-o", "b.tar.zst", RH_4_15_0]);
    r.code(2).stderr_has("--sign-key").stderr_has("--no-sign");
}

#[test]
fn unpack_needs_packer_key_or_allow_unsigned() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    env.run("unpack", &["verify", "b.tar.zst"])
        .code(2)
        .stderr_has("--packer-key")
        .stderr_has("--allow-unsigned");
}

#[test]
fn unsigned_bundle_refused_when_a_packer_key_is_required() {
    let env = Env::new();
    let (_, public) = env.packer_key("ops");
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    env.run(
        "unpack",
        &[
            "emit",
            "b.tar.zst",
            "--packer-key",
            public.to_str().unwrap(),
            "--to-dir",
            "out",
        ],
    )
    .code(1)
    .stderr_has("manifest.json.asc: missing");
    assert!(env.ls("out").is_empty());
    env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned"])
        .code(0)
        .stdout_has("unsigned bundle");
}

#[test]
fn bundle_signed_by_an_untrusted_packer_is_refused() {
    let env = Env::new();
    let (key, _) = env.packer_key("mallory");
    let (_, trusted) = env.packer_key("ops");
    env.pack(Some(&key), "b.tar.zst", "zstd", &[RH_4_15_0]).code(0);
    env.run(
        "unpack",
        &["verify", "b.tar.zst", "--packer-key", trusted.to_str().unwrap()],
    )
    .code(1)
    .stderr_has("manifest.json.asc")
    .stderr_has("which is in no trusted packer certificate");
    // Certificates are named by primary fingerprint, as everywhere else; the signing subkey
    // is a detail, and the manifest's claim says which key to ask for.
    let (mallory_primary, mallory_subkey) = gpg_fingerprints(&env.path("mallory.pub.asc"));
    let (ops_primary, _) = gpg_fingerprints(&trusted);
    env.run(
        "unpack",
        &["verify", "b.tar.zst", "--packer-key", trusted.to_str().unwrap()],
    )
    .stderr_has(&format!("signed by key {mallory_subkey}, which"))
    .stderr_has(&format!("(trusted: {ops_primary})"))
    .stderr_has(&format!("the manifest names packer {mallory_primary} (unverified)"));
}

#[test]
fn missing_signature_fails_pack_and_writes_nothing() {
    let env = Env::new();
    let store = store_arg();
    let absent = format!("sha256:{}", "1".repeat(64));
    let r = env.run(
        "pack",
        &["--store", &store, "--no-sign", "-o", "b.tar.zst", RH_4_15_0, &absent],
    );
    r.code(1).stderr_has(&absent).stderr_has("--allow-missing");
    assert!(!env.path("b.tar.zst").exists());
    assert_eq!(env.ls("."), Vec::<String>::new());

    env.run(
        "pack",
        &[
            "--store",
            &store,
            "--no-sign",
            "--allow-missing",
            "-o",
            "b.tar.zst",
            RH_4_15_0,
            &absent,
        ],
    )
    .code(0)
    .stderr_has(&format!("{absent}: no valid signature (no signature in any store)"))
    .stderr_has("1 release(s) packed without a valid signature (--allow-missing; each said above)");
    env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned"])
        .code(0)
        .stdout_has(&absent);
}

#[test]
fn pack_refuses_a_signature_filed_under_another_digest() {
    let env = Env::new();
    env.write_store("store", &[(RH_4_10_18, &rh_signature(RH_4_15_0))]);
    env.run(
        "pack",
        &["--store", "store", "--no-sign", "-o", "b.tar.zst", RH_4_10_18],
    )
    .code(1)
    .stderr_has("digest-mismatch")
    .stderr_has(RH_4_15_0);
    assert!(!env.path("b.tar.zst").exists());
}

#[test]
fn pack_refuses_to_overwrite_without_force() {
    let env = Env::new();
    std::fs::write(env.path("b.tar.zst"), b"precious").unwrap();
    env.pack_unsigned("b.tar.zst", "zstd").code(2).stderr_has("--force");
    assert_eq!(std::fs::read(env.path("b.tar.zst")).unwrap(), b"precious");
    let store = store_arg();
    env.run(
        "pack",
        &["--store", &store, "--no-sign", "--force", "-o", "b.tar.zst", RH_4_15_0],
    )
    .code(0);
    assert_ne!(std::fs::read(env.path("b.tar.zst")).unwrap(), b"precious");
}

/// An unsigned, uncompressed bundle of the three real releases, as members.
fn plain_members(env: &Env) -> (Manifest, Vec<(String, Vec<u8>)>) {
    env.pack_unsigned("plain.tar", "none").code(0);
    let mut m = tar_members(&std::fs::read(env.path("plain.tar")).unwrap());
    let (_, manifest) = m.remove(0);
    (Manifest::parse(&manifest).unwrap(), m)
}

fn craft(env: &Env, name: &str, manifest: &Manifest, members: &[(String, Vec<u8>)], comp: Compression) {
    let bytes = write_bundle(Vec::new(), comp, 0, &manifest.to_bytes(), None, members).unwrap();
    std::fs::write(env.path(name), bytes).unwrap();
}

fn verify_unsigned(env: &Env, name: &str) -> Run {
    env.run("unpack", &["emit", name, "--allow-unsigned", "--to-dir", "out"])
}

#[test]
fn flipped_byte_in_a_member_is_named() {
    let env = Env::new();
    let (manifest, mut members) = plain_members(&env);
    members[1].1[100] ^= 0x01;
    craft(&env, "x.tar", &manifest, &members, Compression::None);
    verify_unsigned(&env, "x.tar")
        .code(1)
        .stderr_has(&members[1].0)
        .stderr_has("sha256");
    assert!(env.ls("out").is_empty());
}

#[test]
fn flipped_byte_in_a_compressed_stream_is_refused() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let mut bytes = std::fs::read(env.path("b.tar.zst")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(env.path("b.tar.zst"), &bytes).unwrap();
    verify_unsigned(&env, "b.tar.zst").code(1).stderr_has("bundle rejected");
    assert!(env.ls("out").is_empty());
}

#[test]
fn extra_member_is_named() {
    let env = Env::new();
    let (manifest, mut members) = plain_members(&env);
    members.push(("signatures/extra".into(), b"surprise".to_vec()));
    craft(&env, "x.tar.gz", &manifest, &members, Compression::Gzip);
    verify_unsigned(&env, "x.tar.gz")
        .code(1)
        .stderr_has("signatures/extra: not listed in the manifest");
}

#[test]
fn missing_member_is_named() {
    let env = Env::new();
    let (manifest, mut members) = plain_members(&env);
    let gone = members.remove(2).0;
    craft(&env, "x.tar", &manifest, &members, Compression::None);
    verify_unsigned(&env, "x.tar")
        .code(1)
        .stderr_has(&format!("{gone}: listed in the manifest but missing"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let env = Env::new();
    let (manifest, mut members) = plain_members(&env);
    members[0].1[10] ^= 1;
    members.push(("zzz".into(), b"x".to_vec()));
    craft(&env, "x.tar", &manifest, &members, Compression::None);
    let r = verify_unsigned(&env, "x.tar");
    r.code(1)
        .stderr_has("2 problems")
        .stderr_has(&format!("{}: sha256", members[0].0))
        .stderr_has("zzz: not listed");
}

#[test]
fn hostile_member_names_and_types_are_refused_and_escaped() {
    let env = Env::new();
    let (manifest, _) = plain_members(&env);
    let mbytes = manifest.to_bytes();
    let cases: &[(&[u8], u8, &str)] = &[
        (
            b"../../etc/cron.d/evil",
            b'0',
            "../../etc/cron.d/evil: unsafe member name ('..' component)",
        ),
        (b"/etc/passwd", b'0', "/etc/passwd: unsafe member name (absolute path)"),
        (
            b"sig\x1b[2Jnatures",
            b'0',
            "sig\\u{1b}[2Jnatures: unsafe member name (control character)",
        ),
        (b"signatures/link", b'2', "signatures/link: is a symlink"),
        (b"signatures/hard", b'1', "signatures/hard: is a hardlink"),
        (b"signatures/dev", b'3', "signatures/dev: is a character device"),
        (b"signatures/fifo", b'6', "signatures/fifo: is a FIFO"),
    ];
    for (i, (name, kind, want)) in cases.iter().enumerate() {
        let f = format!("h{i}.tar");
        std::fs::write(
            env.path(&f),
            raw_tar(&[(b"manifest.json", b'0', &mbytes), (name, *kind, b"")]),
        )
        .unwrap();
        let r = verify_unsigned(&env, &f);
        r.code(1).stderr_has(want);
        assert!(!r.stderr.contains('\x1b'), "an escape sequence reached the terminal");
        assert!(env.ls("out").is_empty());
    }
}

#[test]
fn duplicate_member_and_manifest_not_first_are_refused() {
    let env = Env::new();
    let (manifest, members) = plain_members(&env);
    let mbytes = manifest.to_bytes();
    let (p, d) = (&members[0].0, &members[0].1);
    std::fs::write(
        env.path("d.tar"),
        raw_tar(&[
            (b"manifest.json", b'0', &mbytes),
            (p.as_bytes(), b'0', d),
            (p.as_bytes(), b'0', d),
        ]),
    )
    .unwrap();
    verify_unsigned(&env, "d.tar")
        .code(1)
        .stderr_has(&format!("{p}: duplicate member"));
    std::fs::write(
        env.path("o.tar"),
        raw_tar(&[(p.as_bytes(), b'0', d), (b"manifest.json", b'0', &mbytes)]),
    )
    .unwrap();
    verify_unsigned(&env, "o.tar")
        .code(1)
        .stderr_has("the first member must be manifest.json");
}

#[test]
fn unknown_format_version_is_refused() {
    let env = Env::new();
    let (mut manifest, members) = plain_members(&env);
    manifest.format = "sigbundle/v3".into();
    craft(&env, "x.tar", &manifest, &members, Compression::None);
    verify_unsigned(&env, "x.tar")
        .code(1)
        .stderr_has("unknown format \"sigbundle/v3\"");
}

#[test]
fn signature_filed_under_the_wrong_digest_is_refused_at_unpack() {
    let env = Env::new();
    let (mut manifest, mut members) = plain_members(&env);
    // Put release B's signature bytes under release A, with a manifest that agrees.
    let a = manifest
        .releases
        .iter()
        .position(|r| r.digest.to_string() == RH_4_15_0)
        .unwrap();
    let b = manifest
        .releases
        .iter()
        .position(|r| r.digest.to_string() == RH_4_10_18)
        .unwrap();
    let pa = manifest.releases[a].signatures[0].path.clone();
    let pb = manifest.releases[b].signatures[0].path.clone();
    let bytes_b = members.iter().find(|m| m.0 == pb).unwrap().1.clone();
    replace_member(&mut manifest, &mut members, &pa, bytes_b);
    craft(&env, "x.tar", &manifest, &members, Compression::None);
    verify_unsigned(&env, "x.tar")
        .code(1)
        .stderr_has(&pa)
        .stderr_has("digest-mismatch")
        .stderr_has(RH_4_10_18);
    assert!(env.ls("out").is_empty());
}

#[test]
fn unknown_compression_and_truncation_are_refused() {
    let env = Env::new();
    std::fs::write(env.path("x.tar.bz2"), b"BZh91AY&SYgarbage").unwrap();
    verify_unsigned(&env, "x.tar.bz2")
        .code(1)
        .stderr_has("unknown compression");
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let bytes = std::fs::read(env.path("b.tar.zst")).unwrap();
    std::fs::write(env.path("t.tar.zst"), &bytes[..bytes.len() * 2 / 3]).unwrap();
    verify_unsigned(&env, "t.tar.zst")
        .code(1)
        .stderr_has("corrupt or truncated");
    let mut garbage = bytes.clone();
    garbage.extend_from_slice(b"trailing garbage");
    std::fs::write(env.path("g.tar.zst"), garbage).unwrap();
    verify_unsigned(&env, "g.tar.zst").code(1).stderr_has("bundle rejected");
    verify_unsigned(&env, "nonexistent.tar.zst")
        .code(2)
        .stderr_has("nonexistent.tar.zst");
}

#[test]
fn decompression_bomb_is_stopped_at_the_cap() {
    use std::io::Write;
    let env = Env::new();
    let (manifest, _) = plain_members(&env);
    let file = std::fs::File::create(env.path("bomb.tar.zst")).unwrap();
    let mut z = zstd_encoder(file);
    let mut t = tar::Builder::new(&mut z);
    let mb = manifest.to_bytes();
    let h = pack_header("manifest.json", mb.len() as u64);
    t.append(&h, mb.as_slice()).unwrap();
    let size: u64 = (1 << 30) + (1 << 20);
    let h = pack_header("signatures/zeros", size);
    t.append(&h, std::io::repeat(0).take_bytes(size)).unwrap();
    t.finish().unwrap();
    drop(t);
    z.finish().unwrap().flush().unwrap();
    let small = std::fs::metadata(env.path("bomb.tar.zst")).unwrap().len();
    assert!(small < 1 << 20, "the bomb is small: {small}");
    verify_unsigned(&env, "bomb.tar.zst")
        .code(1)
        .stderr_has("signatures/zeros: larger than the 262144-byte limit");
}

trait TakeBytes: std::io::Read + Sized {
    fn take_bytes(self, n: u64) -> std::io::Take<Self> {
        self.take(n)
    }
}
impl<R: std::io::Read> TakeBytes for R {}

#[test]
fn emit_yaml_is_the_same_object() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    env.run(
        "unpack",
        &[
            "emit",
            "b.tar.zst",
            "--allow-unsigned",
            "--to-dir",
            "y",
            "--format",
            "yaml",
        ],
    )
    .code(0);
    for name in env.ls("y") {
        let yaml = std::fs::read_to_string(env.path("y").join(&name)).unwrap();
        let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        let golden = fixture("golden").join(name.replace(".yaml", ".json"));
        let from_json: serde_json::Value = serde_json::from_slice(&std::fs::read(golden).unwrap()).unwrap();
        assert_eq!(from_yaml, from_json, "{name}");
    }
}

/// emit writes releases while the bundle is still being verified; a refusal found after some
/// were written (here the last release's signature is another release's) must leave nothing:
/// no folder, no hidden staging folder or temporary file, no parent folder it made.
#[test]
fn emit_written_while_verifying_leaves_nothing_when_refused_late() {
    let env = Env::new();
    let (mut manifest, mut members) = plain_members(&env);
    let last = members.last().unwrap().0.clone();
    let other = members[0].1.clone();
    replace_member(&mut manifest, &mut members, &last, other);
    craft(&env, "x.tar", &manifest, &members, Compression::None);
    std::fs::create_dir(env.path("existing")).unwrap();
    // The audit log's folder ("state") is made by the first run.
    let beside = || env.ls(".").into_iter().filter(|n| n != "state").collect::<Vec<_>>();
    let before = beside();
    // Every --to-dir format alike, the fleet ones (rendered once the bundle passed) too.
    for format in ["oc-json", "kustomize", "acm-policy", "oc-mirror"] {
        for dest in ["new1/new2/out", "existing", "existing/out"] {
            let args = [
                "emit",
                "x.tar",
                "--allow-unsigned",
                "--to-dir",
                dest,
                "--format",
                format,
            ];
            env.run("unpack", &args)
                .code(1)
                .stderr_has("bundle rejected")
                .stderr_has("digest-mismatch");
            assert_eq!(
                beside(),
                before,
                "{format} {dest}: something was left beside the bundle"
            );
            assert!(
                env.ls("existing").is_empty(),
                "{format} {dest}: something was left in existing/"
            );
        }
    }
    // The good bundle: two folders made, the files in place, nothing hidden beside them.
    env.pack_unsigned("b.tar", "none").code(0);
    env.run(
        "unpack",
        &["emit", "b.tar", "--allow-unsigned", "--to-dir", "new1/new2/out"],
    )
    .code(0)
    .stdout_has("created");
    assert_eq!(env.ls("new1"), ["new2"]);
    assert_eq!(env.ls("new1/new2"), ["out"]);
    assert_eq!(env.ls("new1/new2/out").len(), 3);
    // Into the existing empty folder: the same three files.
    env.run("unpack", &["emit", "b.tar", "--allow-unsigned", "--to-dir", "existing"])
        .code(0);
    assert_eq!(env.ls("existing"), env.ls("new1/new2/out"));
}

#[test]
fn emit_does_not_overwrite_a_different_file_without_force() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    std::fs::create_dir(env.path("cms")).unwrap();
    let victim = env.path("cms/signature-sha256-195de2a5ef3af108.json");
    std::fs::write(&victim, b"hand-made").unwrap();
    env.run("unpack", &["emit", "b.tar.zst", "--allow-unsigned", "--to-dir", "cms"])
        .code(2)
        .stderr_has("--force");
    assert_eq!(
        env.ls("cms"),
        ["signature-sha256-195de2a5ef3af108.json"],
        "nothing else was written"
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"hand-made");
    env.run(
        "unpack",
        &["emit", "b.tar.zst", "--allow-unsigned", "--to-dir", "cms", "--force"],
    )
    .code(0)
    .stdout_has("replaced");
    assert_eq!(env.ls("cms").len(), 3);
}

#[test]
fn verify_json_reports_for_scripts() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let r = env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned", "--json"]);
    r.code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["releases"].as_array().unwrap().len(), 3);
    assert_eq!(v["releases"][0]["signatures"][0]["verdict"], "valid");
    std::fs::write(env.path("bad.tar"), b"nonsense").unwrap();
    let r = env.run("unpack", &["verify", "bad.tar", "--allow-unsigned", "--json"]);
    r.code(1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"][0]["problem"], "unknown-compression");
}

#[test]
fn a_manifest_tampered_after_signing_is_refused() {
    let env = Env::new();
    let (key, public) = env.packer_key("ops");
    env.pack(Some(&key), "s.tar", "none", &[RH_4_15_0]).code(0);
    // Claim another creation time; everything else stays consistent.
    let signed = std::fs::read(env.path("s.tar")).unwrap();
    let bytes = tamper_signed_manifest(&signed, "2023-11-14T22:13:20Z", "2023-11-15T22:13:20Z");
    std::fs::write(env.path("t.tar"), bytes).unwrap();
    env.run("unpack", &["verify", "t.tar", "--packer-key", public.to_str().unwrap()])
        .code(1)
        .stderr_has("manifest.json.asc: bad-signature");
}

#[test]
fn unknown_manifest_fields_and_odd_names_are_refused() {
    let env = Env::new();
    let (manifest, members) = plain_members(&env);
    let mut v: serde_json::Value = serde_json::from_slice(&manifest.to_bytes()).unwrap();
    v["releases"][0]["signatures"][0]["comment"] = serde_json::Value::String("sneaky".into());
    let bytes = write_bundle(
        Vec::new(),
        Compression::None,
        0,
        v.to_string().as_bytes(),
        None,
        &members,
    )
    .unwrap();
    std::fs::write(env.path("u.tar"), bytes).unwrap();
    verify_unsigned(&env, "u.tar")
        .code(1)
        .stderr_has("unknown field `comment`");
    let mbytes = manifest.to_bytes();
    for (name, want) in [
        (&b"./manifest.json"[..], "'.' component"),
        (b"signatures\\..\\..\\evil", "backslash"),
        (b"signatures//x", "empty component"),
    ] {
        std::fs::write(
            env.path("n.tar"),
            raw_tar(&[(b"manifest.json", b'0', &mbytes), (name, b'0', b"x")]),
        )
        .unwrap();
        verify_unsigned(&env, "n.tar").code(1).stderr_has(want);
    }
}

#[test]
fn a_huge_manifest_is_refused_at_its_cap() {
    use std::io::Write;
    let env = Env::new();
    let file = std::fs::File::create(env.path("huge.tar.zst")).unwrap();
    let mut z = zstd_encoder(file);
    {
        let mut t = tar::Builder::new(&mut z);
        let size: u64 = (64 << 20) + 1;
        let h = pack_header("manifest.json", size);
        t.append(&h, std::io::Read::take(std::io::repeat(b' '), size)).unwrap();
        t.finish().unwrap();
    }
    z.finish().unwrap().flush().unwrap();
    verify_unsigned(&env, "huge.tar.zst")
        .code(1)
        .stderr_has("manifest.json: larger than the 67108864-byte limit");
}

#[test]
fn expired_and_untrusted_release_signatures_inside_a_bundle_are_refused() {
    let env = Env::new();
    let digest = env.containers_image_store("store");
    let pubring = fixture("malformed/containers-image/pubring.gpg");
    env.run(
        "pack",
        &[
            "--store",
            "store",
            "--keyring",
            pubring.to_str().unwrap(),
            "--no-sign",
            "--compression",
            "none",
            "-o",
            "b.tar",
            &digest,
        ],
    )
    .code(0);
    // Under Red Hat's keyring the same bundle's signature is from an untrusted signer.
    verify_unsigned(&env, "b.tar").code(1).stderr_has("untrusted-signer");
    // Swap in the expired signature, manifest kept consistent.
    let mut members = tar_members(&std::fs::read(env.path("b.tar")).unwrap());
    let mut manifest = Manifest::parse(&members.remove(0).1).unwrap();
    let expired = std::fs::read(fixture("malformed/containers-image/expired.signature")).unwrap();
    let path = members[0].0.clone();
    replace_member(&mut manifest, &mut members, &path, expired);
    craft(&env, "x.tar", &manifest, &members, Compression::None);
    env.run(
        "unpack",
        &[
            "verify",
            "x.tar",
            "--allow-unsigned",
            "--keyring",
            pubring.to_str().unwrap(),
        ],
    )
    .code(1)
    .stderr_has("expired-signature");
}

/// `pack keys` and `unpack keys` list the release keys signatures are checked against: the
/// compiled-in default (Red Hat release key 2 and beta key 2, one entry), or `--keyring` files
/// and ConfigMaps, entry by entry.
#[test]
fn keys_lists_the_release_keys_and_where_they_come_from() {
    let env = Env::new();
    let r = env.run("unpack", &["keys"]);
    r.code(0)
        .stdout_has("entry verifier-public-key-redhat (compiled in, the ConfigMap OCP ships: release-verification-configmap.rhel.yaml")
        .stdout_has("567E347AD0044ADE55BA8A5F199E2F91FD431D51  RSA-4096  2009-10-22  Red Hat, Inc. (release key 2) <security@redhat.com>")
        .stdout_has("B08B659EE86AF623BC90E8DB938A80CAF21541EB  RSA-4096  2009-02-24  Red Hat, Inc. (beta key 2) <security@redhat.com>")
        .stderr_has("2 key(s) in 1 entry; a release needs a valid signature by any one of them");
    assert_eq!(env.run("pack", &["keys"]).stdout, r.stdout);

    let ci = fixture("keys/openshift-ci-4.asc");
    env.run("pack", &["keys", "--keyring", ci.to_str().unwrap()])
        .code(0)
        .stdout_has(&format!("keys from --keyring: {}", ci.display()))
        .stdout_has("6A9588F07F2D3AE7973AD2A9193E53CCD2E2F7A4  RSA-2048  2025-03-04  openshift-ci-release-key")
        .stdout_has("    subkey 09E2BC9B23558F2EDD8779C814138D69C4F56F63");

    let armored = |f: &str| {
        std::fs::read_to_string(fixture(&format!("keys/{f}")))
            .unwrap()
            .lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    let cm = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-verification\ndata:\n  verifier-public-key-redhat: |\n{}  verifier-public-key-ci: |\n{}",
        armored("redhat-release-key-2.asc"),
        armored("openshift-ci-4.asc")
    );
    std::fs::write(env.path("rv.yaml"), cm).unwrap();
    let r = env.run("unpack", &["keys", "--keyring", "rv.yaml", "--json"]);
    r.code(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["verifier-public-key-ci", "verifier-public-key-redhat"]);
    assert_eq!(
        v["entries"][1]["keys"][0]["fingerprint"],
        "567E347AD0044ADE55BA8A5F199E2F91FD431D51"
    );
    assert_eq!(
        v["entries"][0]["keys"][0]["subkeys"][0],
        "09E2BC9B23558F2EDD8779C814138D69C4F56F63"
    );
    env.run("unpack", &["keys", "--keyring", "rv.yaml"])
        .stderr_has("2 key(s) in 2 entries; a release needs a valid signature from each of the 2 entries");
    env.run("unpack", &["keys", "--keyring", "nothere.asc"])
        .code(2)
        .stderr_has("nothere.asc");
}

/// Completion scripts and manual pages come from the same definitions that parse the
/// arguments: every subcommand has a page whose synopsis names it, and the bash script parses.
#[test]
fn completions_and_manual_pages_cover_every_command() {
    let env = Env::new();
    for bin in ["pack", "unpack"] {
        let r = env.run(bin, &["completions", "bash"]);
        r.code(0);
        assert!(r.stdout.contains(&format!("_{bin}()")), "{}", r.stdout);
        std::fs::write(env.path(&format!("{bin}.bash")), &r.raw_stdout).unwrap();
        let syntax = Command::new("bash")
            .arg("-n")
            .arg(env.path(&format!("{bin}.bash")))
            .output()
            .unwrap();
        assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));
        for shell in ["zsh", "fish"] {
            env.run(bin, &["completions", shell]).code(0).stdout_has(bin);
        }
        env.run(bin, &["man", "--dir", "man1"])
            .code(0)
            .stderr_has("manual page(s) in man1");
    }
    let pages = env.ls("man1");
    for want in [
        "pack.1",
        "pack-key-generate.1",
        "pack-keys.1",
        "unpack.1",
        "unpack-verify.1",
        "unpack-emit.1",
        "unpack-apply.1",
        "unpack-audit.1",
        "unpack-keys.1",
    ] {
        assert!(pages.iter().any(|p| p == want), "{want} not in {pages:?}");
    }
    let page = std::fs::read_to_string(env.path("man1/unpack-emit.1")).unwrap();
    assert!(page.contains(".TH unpack-emit 1"), "{page}");
    assert!(page.contains("unpack emit"), "the synopsis names the command: {page}");
    assert!(page.contains("\\-\\-to\\-dir"), "{page}");
    env.run("pack", &["completions", "tcsh"])
        .code(2)
        .stderr_has("invalid value 'tcsh'");
}

/// Every command's `--help` ends with examples; `pack --help` groups its options under
/// headings, in the order a run goes, and says how --registry-ca and --ca-file differ.
#[test]
fn every_help_has_examples_and_pack_groups_its_options() {
    let env = Env::new();
    let commands: [(&str, &[&str]); 15] = [
        ("pack", &[]),
        ("pack", &["key", "generate"]),
        ("pack", &["keys"]),
        ("pack", &["completions"]),
        ("pack", &["man"]),
        ("unpack", &[]),
        ("unpack", &["verify"]),
        ("unpack", &["inspect"]),
        ("unpack", &["emit"]),
        ("unpack", &["apply"]),
        ("unpack", &["push"]),
        ("unpack", &["audit"]),
        ("unpack", &["keys"]),
        ("unpack", &["completions"]),
        ("unpack", &["man"]),
    ];
    for (bin, sub) in commands {
        let mut args = sub.to_vec();
        args.push("--help");
        let r = env.run(bin, &args);
        r.code(0);
        let examples = r.stdout.split("\nExamples:\n").nth(1).unwrap_or_default();
        assert!(
            examples.contains(&format!("  {bin} ")),
            "{bin} {sub:?} --help has no examples:\n{}",
            r.stdout
        );
    }
    let help = env.run("pack", &["--help"]).stdout;
    let headings: Vec<&str> = help
        .lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
        .collect();
    assert_eq!(
        headings,
        [
            "Commands:",
            "Arguments:",
            "Options:",
            "Inputs:",
            "Stores:",
            "Registry:",
            "Verification:",
            "Output:",
            "Sigstore:",
            "Fetching:",
            "Examples:"
        ]
    );
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("for registries (tag and version resolution); https signature stores use --ca-file"),
        "{help}"
    );
    assert!(
        flat.contains("for https signature stores (--store URLs); registries use --registry-ca"),
        "{help}"
    );
}

/// Progress only on a terminal: pack shows a resolving phase, then done/total with rate and
/// time left; unpack shows the bundle read so far. Without a terminal, neither.
#[test]
fn progress_is_shown_on_a_terminal_only() {
    let env = Env::new();
    let shown = in_terminal(
        &env,
        "pack",
        &format!("--store {REDHAT_STORE} --no-sign -o b.tar.zst {RH_4_15_0} {RH_4_10_18}"),
    );
    assert!(shown.contains("resolving releases to digests"), "{shown}");
    assert!(shown.contains("/2 releases"), "{shown}");
    assert!(shown.contains(" left"), "{shown}");
    assert!(shown.contains("EXIT=0"), "{shown}");
    let shown = in_terminal(&env, "unpack", "verify b.tar.zst --allow-unsigned");
    assert!(shown.contains("verifying "), "{shown}");
    assert!(shown.contains(" left"), "{shown}");
    assert!(shown.contains("EXIT=0"), "{shown}");

    let r = env.run(
        "pack",
        &[
            "--store",
            REDHAT_STORE,
            "--no-sign",
            "--force",
            "-o",
            "b.tar.zst",
            RH_4_15_0,
        ],
    );
    r.code(0);
    assert!(
        !r.stderr.contains("resolving") && !r.stderr.contains(" left"),
        "{}",
        r.stderr
    );
    let r = env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned"]);
    r.code(0);
    assert!(!r.stderr.contains("verifying "), "{}", r.stderr);
}
