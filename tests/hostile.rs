//! The hostile-bundle corpus through all three commands that act on a bundle: each case must
//! exit 1 from `verify`, `emit` and `apply` with its named cause, write no file, send no
//! request to the cluster, and leave exactly one bounded `refused` audit record per command.
//! Then the second round (issue 11): memory bounded before any key is checked and after (peak
//! RSS of the process measured), no panics, nothing reaching the terminal unescaped, nothing
//! smuggled past the one canonical stream and tar dialect, packer keys merged and judged at
//! signing time, nothing written through links, nothing done that cannot be recorded.

mod common;

use std::io::Write as _;
use std::time::{Duration, SystemTime};

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
    let digest = env.containers_image_store("ci-store");
    let pubring = fixture("malformed/containers-image/pubring.gpg");
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
        let mut z = zstd_encoder(Vec::new());
        {
            let mut t = tar::Builder::new(&mut z);
            if path != "manifest.json" {
                let h = pack_header("manifest.json", mb.len() as u64);
                t.append(&h, mb.as_slice()).unwrap();
            }
            let h = pack_header(path, size);
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
    let pk = vec!["--packer-key".to_string(), public.display().to_string()];
    env.pack(None, "u.tar.zst", "zstd", &[RH_4_15_0]).code(0);
    env.pack(Some(&mallory), "m.tar.zst", "zstd", &[RH_4_15_0]).code(0);
    env.pack(Some(&key), "s.tar", "none", &[RH_4_15_0]).code(0);
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

/// One hostile bundle, how unpack is told to check it, the cause its refusal must name, and
/// what the refusal must not say.
struct Case {
    name: String,
    bytes: Vec<u8>,
    check: Vec<String>,
    cause: String,
    never: &'static [&'static str],
}

fn case(name: &str, bytes: Vec<u8>, check: &[String], cause: &str) -> Case {
    Case {
        name: name.into(),
        bytes,
        check: check.to_vec(),
        cause: cause.into(),
        never: &[],
    }
}

fn allow_unsigned() -> Vec<String> {
    vec!["--allow-unsigned".to_string()]
}

/// The real unsigned bundle of the three fixture releases: its manifest and members.
fn plain(env: &Env) -> (Manifest, Vec<(String, Vec<u8>)>) {
    if !env.path("plain.tar").exists() {
        env.pack_unsigned("plain.tar", "none").code(0);
    }
    let mut members = tar_members(&std::fs::read(env.path("plain.tar")).unwrap());
    let manifest = Manifest::parse(&members.remove(0).1).unwrap();
    (manifest, members)
}

fn craft(m: &Manifest, members: &[(String, Vec<u8>)], c: Compression) -> Vec<u8> {
    write_bundle(Vec::new(), c, 0, &m.to_bytes(), None, members).unwrap()
}

/// A plain tar of `m` and `members` with the header of the member at `index` (0 = manifest)
/// changed by `edit`, its checksum made right again.
fn edit_header(m: &Manifest, members: &[(String, Vec<u8>)], index: usize, edit: impl Fn(&mut [u8; 512])) -> Vec<u8> {
    let mut tar = craft(m, members, Compression::None);
    let mut at = 0;
    for _ in 0..index {
        let size = tar::Header::from_byte_slice(&tar[at..at + 512]).entry_size().unwrap();
        at += 512 + (size as usize).div_ceil(512) * 512;
    }
    let mut block: [u8; 512] = tar[at..at + 512].try_into().unwrap();
    edit(&mut block);
    let mut h = tar::Header::from_byte_slice(&block).clone();
    h.set_cksum();
    tar[at..at + 512].copy_from_slice(h.as_bytes());
    tar
}

/// Cases of the second round that fail under `--allow-unsigned`: the container, the tar
/// dialect, the manifest's shape, names.
fn second_round(env: &Env) -> Vec<Case> {
    let au = allow_unsigned();
    let (manifest, members) = plain(env);
    let mut out = Vec::new();
    // Item 7: one canonical compressed stream, nothing before or after it.
    let zst = craft(&manifest, &members, Compression::Zstd);
    let mut skippable = zst.clone();
    skippable.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18]);
    skippable.extend_from_slice(&(1u32 << 20).to_le_bytes());
    skippable.extend(std::iter::repeat_n(0u8, 1 << 20));
    out.push(case(
        "zstd-skippable-frame",
        skippable,
        &au,
        "a zstd skippable frame follows the frame",
    ));
    let mut two = zst.clone();
    two.extend(zstd::encode_all(&[0u8; 1024][..], 3).unwrap());
    out.push(case(
        "zstd-second-frame",
        two,
        &au,
        "a second zstd frame follows the first",
    ));
    let tar = craft(&manifest, &members, Compression::None);
    out.push(case(
        "zstd-without-checksum",
        zstd::encode_all(tar.as_slice(), 3).unwrap(),
        &au,
        "the zstd frame has no content checksum",
    ));
    let gz = |b: flate2::GzBuilder| {
        let mut w = b.write(Vec::new(), flate2::Compression::best());
        w.write_all(&tar).unwrap();
        w.finish().unwrap()
    };
    out.push(case(
        "gzip-fextra",
        gz(flate2::GzBuilder::new().extra(b"hidden payload".to_vec())),
        &au,
        "FEXTRA",
    ));
    out.push(case(
        "gzip-fname",
        gz(flate2::GzBuilder::new().filename("x")),
        &au,
        "FNAME",
    ));
    out.push(case(
        "gzip-fcomment",
        gz(flate2::GzBuilder::new().comment("x")),
        &au,
        "FCOMMENT",
    ));
    let mut second = craft(&manifest, &members, Compression::Gzip);
    let mut empty = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::best());
    empty.write_all(b"").unwrap();
    second.extend(empty.finish().unwrap());
    out.push(case(
        "gzip-second-member",
        second,
        &au,
        "a second gzip member follows the first",
    ));
    // Item 8: the one tar dialect pack writes, so every tar reader sees the same names.
    let field = |name: &str, index: usize, cause: &str, edit: &dyn Fn(&mut [u8; 512])| {
        case(name, edit_header(&manifest, &members, index, edit), &au, cause)
    };
    out.push(field("ustar-prefix", 1, "\"prefix\"", &|b| {
        b[345..349].copy_from_slice(b"evil")
    }));
    out.push(field("ustar-absolute-prefix-version-not-00", 1, "\"version\"", &|b| {
        b[263..265].copy_from_slice(b"\0\0");
        b[345..349].copy_from_slice(b"/tmp");
    }));
    out.push(field("gnu-magic", 1, "\"magic\"", &|b| {
        b[257..265].copy_from_slice(b"ustar  \0")
    }));
    out.push(field("v7-header", 1, "\"magic\"", &|b| b[257..265].fill(0)));
    out.push(field("base-256-size", 1, "\"size\"", &|b| {
        let size = tar::Header::from_byte_slice(b).size().unwrap();
        b[124..136].fill(0);
        b[124] = 0x80;
        b[128..136].copy_from_slice(&size.to_be_bytes());
    }));
    out.push(field("typeflag-nul", 1, "\"typeflag\"", &|b| b[156] = 0));
    out.push(field("bytes-after-the-name", 1, "\"name\"", &|b| {
        let end = b[..100].iter().position(|&c| c == 0).unwrap();
        b[end + 1..end + 5].copy_from_slice(b"junk");
    }));
    out.push(field("uid-1000", 1, "\"uid\"", &|b| {
        b[108..116].copy_from_slice(b"0001750\0")
    }));
    out.push(field("linkname-on-a-file", 1, "\"linkname\"", &|b| {
        b[157..161].copy_from_slice(b"/etc")
    }));
    out.push(field("manifest-with-prefix", 0, "\"prefix\"", &|b| {
        b[345..348].copy_from_slice(b"tmp")
    }));
    // Item 9: a release with no signature is an error, not an empty success.
    let mut none = manifest.clone();
    let extra = sigbundle::digest::Digest::parse(&format!("sha256:{}", "ab".repeat(32))).unwrap();
    none.releases.push(sigbundle::manifest::Release {
        digest: extra,
        requested: vec![extra.to_string()],
        store: "x".into(),
        signatures: vec![],
        incomplete: vec![],
    });
    none.releases.sort_by_key(|r| r.digest.to_string());
    out.push(case(
        "release-with-no-signature",
        craft(&none, &members, Compression::None),
        &au,
        "lists no signature",
    ));
    // Item 11: ten valid signatures of one release (the same real one ten times).
    let (mut ten, mut tmem) = (manifest.clone(), members.clone());
    let r = &mut ten.releases[0];
    let first = r.signatures[0].clone();
    let body = tmem.iter().find(|m| m.0 == first.path).unwrap().1.clone();
    for n in 2..=10 {
        let path = sigbundle::manifest::signature_path(&r.digest, n);
        r.signatures.push(sigbundle::manifest::SignatureEntry {
            path: path.clone(),
            ..first.clone()
        });
        ten.members.push(sigbundle::manifest::Member {
            path: path.clone(),
            size: first.size,
            sha256: first.sha256.clone(),
        });
        tmem.push((path, body.clone()));
    }
    ten.members.sort_by(|a, b| a.path.cmp(&b.path));
    tmem.sort_by(|a, b| a.0.cmp(&b.0));
    out.push(case(
        "ten-signatures",
        craft(&ten, &tmem, Compression::None),
        &au,
        "lists 10 signatures; the cluster reads at most 9",
    ));
    // Item 5: text that cannot be cut byte-wise; item 6: text that acts on a terminal.
    let mut mb = manifest.clone();
    mb.releases[0].signatures[0].signer_cert = Some("é".repeat(20));
    out.push(case(
        "multibyte-signer-cert",
        craft(&mb, &members, Compression::None),
        &au,
        "which is not a key fingerprint",
    ));
    let mut esc = manifest.clone();
    esc.created = "\x1b]0;owned\x07\x1b[2J".into();
    out.push(case(
        "escape-in-created",
        craft(&esc, &members, Compression::None),
        &au,
        "is not an RFC 3339 UTC time",
    ));
    let mut v: serde_json::Value = serde_json::from_slice(&manifest.to_bytes()).unwrap();
    v["\u{1b}[2J\u{202e}"] = serde_json::Value::Bool(true);
    out.push(case(
        "escape-in-an-unknown-field-name",
        write_bundle(
            Vec::new(),
            Compression::None,
            0,
            v.to_string().as_bytes(),
            None,
            &members,
        )
        .unwrap(),
        &au,
        "unknown field",
    ));
    let mb_bytes = manifest.to_bytes();
    out.push(case(
        "bidi-override-in-a-name",
        raw_tar(&[
            (b"manifest.json", b'0', &mb_bytes),
            ("signatures/\u{202e}txt.exe".as_bytes(), b'0', b"x"),
        ]),
        &au,
        "bidirectional or invisible character",
    ));
    out.push(case(
        "escape-in-a-tar-error",
        {
            let mut t = raw_tar(&[
                (b"manifest.json", b'0', &mb_bytes),
                (b"sig\x1b]0;owned\x07", b'0', b"x"),
            ]);
            // A size field that is not a number: tar's error names the member.
            let at = 512 + mb_bytes.len().div_ceil(512) * 512;
            t[at + 124..at + 130].copy_from_slice(b"zz\x1b[2J");
            let mut h = tar::Header::from_byte_slice(&t[at..at + 512]).clone();
            h.set_cksum();
            t[at..at + 512].copy_from_slice(h.as_bytes());
            t
        },
        &au,
        "",
    ));
    // Item 15: one unsafe first entry is one problem, named as what it is.
    out.push(Case {
        never: &["duplicate", "missing"],
        ..case(
            "unsafe-first-entry",
            raw_tar(&[
                (b"../manifest.json", b'0', &mb_bytes),
                (b"manifest.json", b'0', &mb_bytes),
            ]),
            &au,
            "../manifest.json: unsafe member name ('..' component)",
        )
    });
    out
}

/// An OpenPGP packet in the new format: tag, length, body.
fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![0xc0 | tag, 0xff];
    p.extend_from_slice(&(body.len() as u32).to_be_bytes());
    p.extend_from_slice(body);
    p
}

/// A release signature that is a compressed packet inside a compressed packet around a literal
/// of `literal` zero bytes: a few KiB that inflate to whatever `literal` says.
fn nested_compression_bomb(literal: u64) -> Vec<u8> {
    let mut inner = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    inner.write_all(&[0xcb, 0xff]).unwrap();
    inner.write_all(&((literal + 6) as u32).to_be_bytes()).unwrap();
    inner.write_all(&[b'b', 0, 0, 0, 0, 0]).unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = literal;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        inner.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    let mut body = vec![1u8]; // ZIP (raw deflate)
    body.extend(inner.finish().unwrap());
    let inner_packet = packet(8, &body);
    let mut outer = flate2::write::DeflateEncoder::new(vec![1u8], flate2::Compression::best());
    outer.write_all(&inner_packet).unwrap();
    packet(8, &outer.finish().unwrap())
}

/// A one-release unsigned bundle whose release signature is `sig` (its manifest agrees).
fn one_release_with(env: &Env, sig: Vec<u8>) -> Vec<u8> {
    let (mut m, mut members) = plain(env);
    m.releases.truncate(1);
    let keep = m.releases[0].signatures[0].path.clone();
    m.members.retain(|x| x.path == keep);
    members.retain(|x| x.0 == keep);
    replace_member(&mut m, &mut members, &keep, sig);
    craft(&m, &members, Compression::None)
}

/// Packer certificates and signatures with chosen dates, hashes and revocations.
mod keys {
    use sequoia_openpgp as openpgp;
    use std::time::SystemTime;

    use openpgp::cert::{CertBuilder, CipherSuite};
    use openpgp::packet::signature::SignatureBuilder;
    use openpgp::serialize::{Serialize as _, SerializeInto as _};
    use openpgp::types::{HashAlgorithm, ReasonForRevocation, SignatureType};
    use openpgp::{Cert, Packet};

    pub fn cert(created: SystemTime, validity: Option<std::time::Duration>) -> Cert {
        CertBuilder::new()
            .add_userid("Packer <p@example.org>")
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_creation_time(created)
            .set_validity_period(validity)
            .add_signing_subkey()
            .generate()
            .unwrap()
            .0
    }

    pub fn fingerprint(c: &Cert) -> String {
        c.fingerprint().to_hex()
    }

    pub fn public(c: &Cert) -> Vec<u8> {
        c.armored().to_vec().unwrap()
    }

    pub fn revoked(c: &Cert) -> Cert {
        let mut kp = c
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let rev = c
            .revoke(&mut kp, ReasonForRevocation::KeyCompromised, b"leaked")
            .unwrap();
        c.clone().insert_packets(rev).unwrap().0
    }

    /// An armored detached signature of `data` by the signing subkey, made at `when`.
    pub fn sign(c: &Cert, sha1: bool, when: SystemTime, data: &[u8]) -> Vec<u8> {
        let key = c.keys().subkeys().secret().next().unwrap().key().clone();
        let mut kp = key.parts_into_secret().unwrap().into_keypair().unwrap();
        let hash = if sha1 {
            HashAlgorithm::SHA1
        } else {
            HashAlgorithm::SHA512
        };
        let sig = SignatureBuilder::new(SignatureType::Binary)
            .set_signature_creation_time(when)
            .unwrap()
            .set_hash_algo(hash)
            .sign_message(&mut kp, data)
            .unwrap();
        let mut out = Vec::new();
        let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).unwrap();
        Packet::from(sig).serialize(&mut w).unwrap();
        w.finalize().unwrap();
        out
    }
}

const DAY: Duration = Duration::from_secs(86_400);

/// A bundle of the three releases signed with `sig(manifest bytes)` by a packer whose
/// fingerprint the manifest names.
fn signed_by(env: &Env, fingerprint: &str, sig: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let (mut m, members) = plain(env);
    m.packer = fingerprint.to_string();
    let mb = m.to_bytes();
    write_bundle(Vec::new(), Compression::None, 0, &mb, Some(&sig(&mb)), &members).unwrap()
}

fn write_key(env: &Env, name: &str, bytes: &[u8]) -> String {
    std::fs::write(env.path(name), bytes).unwrap();
    name.to_string()
}

/// Cases of the second round that fail because of the packer key or its signature.
fn packer_second_round(env: &Env) -> Vec<Case> {
    let now = SystemTime::now();
    let good = keys::cert(now - 30 * DAY, None);
    let good_pub = write_key(env, "good.pub.asc", &keys::public(&good));
    let pk = |files: &[&str]| -> Vec<String> {
        files
            .iter()
            .flat_map(|f| ["--packer-key".to_string(), f.to_string()])
            .collect()
    };
    let mut out = Vec::new();
    // Item 1: no packer signature, so the nested-compression signature inside is never opened.
    out.push(case(
        "unsigned-with-a-compression-bomb-inside",
        one_release_with(env, nested_compression_bomb(64 << 20)),
        &pk(&[&good_pub]),
        "manifest.json.asc: missing",
    ));
    // Item 12: a key that expired in 2020 cannot sign in 2026.
    let old = keys::cert(now - 7 * 365 * DAY, Some(365 * DAY));
    let old_pub = write_key(env, "old.pub.asc", &keys::public(&old));
    out.push(case(
        "packer-key-expired-before-signing",
        signed_by(env, &keys::fingerprint(&old), |m| keys::sign(&old, false, now, m)),
        &pk(&[&old_pub]),
        "expired-key: made at",
    ));
    // A revoked copy counts, whether it is given first or last.
    let revoked_pub = write_key(env, "revoked.pub.asc", &keys::public(&keys::revoked(&good)));
    let by_good = signed_by(env, &keys::fingerprint(&good), |m| keys::sign(&good, false, now, m));
    out.push(case(
        "packer-key-revoked-in-the-second-file",
        by_good.clone(),
        &pk(&[&good_pub, &revoked_pub]),
        "revoked-key: packer key",
    ));
    out.push(case(
        "packer-key-revoked-in-the-first-file",
        by_good,
        &pk(&[&revoked_pub, &good_pub]),
        "revoked-key: packer key",
    ));
    out.push(case(
        "sha1-packer-signature",
        signed_by(env, &keys::fingerprint(&good), |m| keys::sign(&good, true, now, m)),
        &pk(&[&good_pub]),
        "weak-hash: made with SHA1",
    ));
    out.push(case(
        "compressed-packet-for-a-packer-signature",
        signed_by(env, &keys::fingerprint(&good), |_| nested_compression_bomb(1 << 20)),
        &pk(&[&good_pub]),
        "a Compressed Data Packet where only signature packets belong",
    ));
    out
}

#[test]
fn every_hostile_case_is_refused_by_verify_emit_and_apply() {
    let env = Env::new();
    let api = env.cluster();
    let mut cases: Vec<Case> = corpus(&env)
        .into_iter()
        .map(|(n, b)| case(&n, b, &allow_unsigned(), ""))
        .collect();
    cases.extend(packer_corpus(&env).into_iter().map(|(n, b, c)| case(&n, b, &c, "")));
    assert_eq!(cases.len(), 27);
    cases.extend(second_round(&env));
    cases.extend(packer_second_round(&env));
    assert_eq!(cases.len(), 27 + 25 + 6);
    // To run other builds on the same cases by hand: each bundle, its arguments, the keys.
    if let Some(dir) = std::env::var_os("SIGBUNDLE_CRAFTED_DIR") {
        let dir = std::path::Path::new(&dir);
        for c in &cases {
            std::fs::write(dir.join(format!("{}.bundle", c.name)), &c.bytes).unwrap();
            let args = c.check.iter().map(|a| format!("{a}\n")).collect::<String>();
            std::fs::write(
                dir.join(format!("{}.args", c.name)),
                args + &format!("#cause {}\n", c.cause),
            )
            .unwrap();
        }
        for e in std::fs::read_dir(env.dir.path()).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "asc") {
                std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
            }
        }
    }
    let mut records = env.audit_records().len();
    for Case {
        name,
        bytes,
        check,
        cause,
        never,
    } in &cases
    {
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
                r.stderr.contains(cause.as_str()),
                "{name} {}: no {cause:?} in {}",
                cmd[0],
                r.stderr
            );
            for n in *never {
                assert!(!r.stderr.contains(n), "{name} {}: {n:?} in {}", cmd[0], r.stderr);
            }
            assert_terminal_safe(name, &r);
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
    let log = std::fs::read_to_string(env.path("state/sigbundle/audit.log")).unwrap();
    assert!(log.lines().all(|l| l.len() <= 64 << 10), "an audit record over 64 KiB");
}

/// Nothing that could act on a terminal: no C0 or C1 control but newline, no DEL, no
/// bidirectional override, no invisible character.
#[track_caller]
fn assert_terminal_safe(what: &str, r: &Run) {
    for (stream, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        if let Some(c) = text.chars().find(|&c| c != '\n' && sigbundle::text::is_unsafe_char(c)) {
            panic!("{what}: {c:?} reached the terminal on {stream}:\n{text}");
        }
    }
}

/// Many zero-size members with 100-byte names after a real manifest, as pack writes headers,
/// zstd-compressed as pack compresses (2 M of them make 1 GiB of tar in a few MB).
fn many_members(env: &Env, count: usize, name: impl Fn(usize) -> String) -> Vec<u8> {
    let (m, _) = plain(env);
    let mb = m.to_bytes();
    let mut z = zstd_encoder(Vec::new());
    z.write_all(pack_header("manifest.json", mb.len() as u64).as_bytes())
        .unwrap();
    z.write_all(&mb).unwrap();
    z.write_all(&vec![0u8; mb.len().div_ceil(512) * 512 - mb.len()])
        .unwrap();
    // One header, its name and checksum patched per member (tar's own set_cksum per member
    // would take most of the test's time in a debug build).
    let template = pack_header("x", 0);
    let mut block: [u8; 512] = template.as_bytes()[..].try_into().unwrap();
    block[..100].fill(0);
    block[148..156].fill(b' ');
    let base: u32 = block.iter().map(|&b| u32::from(b)).sum();
    let mut buf = Vec::with_capacity(1 << 20);
    for i in 0..count {
        let n = name(i);
        block[..100].fill(0);
        block[..n.len()].copy_from_slice(n.as_bytes());
        let sum = base + n.bytes().map(u32::from).sum::<u32>();
        block[148..155].copy_from_slice(format!("{sum:07o}").as_bytes());
        block[155] = 0;
        buf.extend_from_slice(&block);
        block[148..156].fill(b' ');
        if buf.len() >= 1 << 20 {
            z.write_all(&buf).unwrap();
            buf.clear();
        }
    }
    buf.extend_from_slice(&[0u8; 1024]);
    z.write_all(&buf).unwrap();
    z.finish().unwrap()
}

/// A manifest whose first release was asked for under `count` empty names.
fn empty_strings_manifest(env: &Env, count: usize) -> Vec<u8> {
    let (m, members) = plain(env);
    let text = String::from_utf8(m.to_bytes()).unwrap();
    let at = text.find("\"requested\": [").unwrap() + "\"requested\": [".len();
    let mut json = String::with_capacity(text.len() + 3 * count);
    json.push_str(&text[..at]);
    json.push_str(&"\"\",".repeat(count));
    json.push_str(&text[at..]);
    let mut z = zstd_encoder(Vec::new());
    let tar = write_bundle(Vec::new(), Compression::None, 0, json.as_bytes(), None, &members).unwrap();
    z.write_all(&tar).unwrap();
    z.finish().unwrap()
}

const MIB: u64 = 1024;

/// Items 1-4: the bundles of the report, each refused with its named cause in bounded memory
/// (peak RSS of the unpack process), with a bounded report and a bounded audit record after
/// which the audit commands stay cheap.
#[test]
fn crafted_bundles_are_refused_in_bounded_memory() {
    let env = Env::new();
    let (_, public) = env.packer_key("ops");
    let pk = public.to_str().unwrap();
    // (name, bytes (empty: the previous ones), command, cause, ceiling in MiB)
    type Crafted<'a> = (&'a str, Vec<u8>, Vec<&'a str>, &'a str, u64);
    let bundles: Vec<Crafted> = vec![
        (
            "two-million-unlisted-members",
            many_members(&env, 2_000_000, |i| format!("signatures/unlisted-{i:0>80}")),
            vec!["verify", "--allow-unsigned"],
            "more than 100000 members",
            64,
        ),
        (
            "millions-of-problems",
            many_members(&env, 2_000_000, |i| format!("../{i:0>97}")),
            vec!["verify", "--allow-unsigned"],
            "more than 100000 members",
            64,
        ),
        (
            "ninety-nine-thousand-problems",
            many_members(&env, 99_990, |i| format!("../{i:0>97}")),
            vec!["verify", "--allow-unsigned"],
            "99993 problems",
            64,
        ),
        (
            "22-million-empty-strings-unsigned-with-a-key",
            empty_strings_manifest(&env, 22_000_000),
            vec!["verify", "--packer-key", pk],
            "manifest.json.asc: missing",
            128,
        ),
        (
            "22-million-empty-strings",
            Vec::new(),
            vec!["verify", "--allow-unsigned"],
            "more than 2000000 JSON values",
            128,
        ),
        (
            "22-million-empty-strings-inspected",
            Vec::new(),
            vec!["inspect"],
            "more than 2000000 JSON values",
            128,
        ),
        (
            "nested-compression-unsigned-with-a-key",
            one_release_with(&env, nested_compression_bomb(256 << 20)),
            vec!["verify", "--packer-key", pk],
            "manifest.json.asc: missing",
            48,
        ),
    ];
    let mut last = None;
    for (name, bytes, args, cause, ceiling_mib) in bundles {
        let file = format!("{name}.bundle");
        let bytes = if bytes.is_empty() { last.clone().unwrap() } else { bytes };
        std::fs::write(env.path(&file), &bytes).unwrap();
        // To measure other builds on the same bundles by hand (the report's before/after).
        if let Some(dir) = std::env::var_os("SIGBUNDLE_CRAFTED_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(&file), &bytes).unwrap();
        }
        last = Some(bytes);
        let mut cmd = vec![args[0], file.as_str()];
        cmd.extend(&args[1..]);
        let (r, peak) = env.run_peak("unpack", &cmd);
        eprintln!(
            "{name}: {} bytes, peak RSS {} MiB",
            std::fs::metadata(env.path(&file)).unwrap().len(),
            peak / MIB
        );
        r.code(1).stderr_has(cause);
        assert!(
            peak < ceiling_mib * MIB,
            "{name}: peak RSS {} MiB, over {ceiling_mib} MiB",
            peak / MIB
        );
        assert!(r.stderr.len() < 64 << 10, "{name}: {} bytes on stderr", r.stderr.len());
        assert_terminal_safe(name, &r);
    }
    let log = std::fs::read_to_string(env.path("state/sigbundle/audit.log")).unwrap();
    assert!(log.lines().all(|l| l.len() <= 64 << 10), "an audit record over 64 KiB");
    assert!(
        log.contains("more problem(s)"),
        "the audit record counts the problems it left out"
    );
    let (r, peak) = env.run_peak("unpack", &["audit", "--check"]);
    r.code(0).stdout_has("intact");
    let (r2, peak2) = env.run_peak("unpack", &["audit"]);
    r2.code(0);
    assert!(
        peak.max(peak2) < 32 * MIB,
        "audit after the refusals: {} MiB",
        peak.max(peak2) / MIB
    );
}

/// Item 5: no panic on text that cannot be cut byte-wise, in `inspect` (its renderer is fed a
/// manifest the reader would refuse) or in `audit` (a record the chain calls intact).
#[test]
fn inspect_and_audit_never_panic_on_multibyte_text() {
    let env = Env::new();
    let (mut m, members) = plain(&env);
    m.releases[0].signatures[0].signer_cert = Some("é".repeat(20));
    std::fs::write(env.path("mb.tar"), craft(&m, &members, Compression::None)).unwrap();
    let r = env.run("unpack", &["inspect", "mb.tar"]);
    r.code(1).stderr_has("not a key fingerprint");
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let signers = ["AB\u{1b}[31mCD".to_string()];
    let shown = sigbundle_cli::render::claims(std::path::Path::new("b\u{1b}.tar"), &m, &signers);
    assert!(shown.contains(&"é".repeat(16)), "{shown}");
    assert!(!shown.contains('\u{1b}'));

    let log = sigbundle::audit::AuditLog::new(env.path("state/sigbundle/audit.log"));
    log.append(sigbundle::audit::NewRecord {
        action: sigbundle::audit::Action::Verify,
        outcome: sigbundle::audit::Outcome::Ok,
        bundle: "x.tar".into(),
        bundle_sha256: Some("é".repeat(40)),
        packer: None,
        cosigners: vec![],
        releases: vec![],
        destination: None,
        problems: vec![],
    })
    .unwrap();
    env.run("unpack", &["audit", "--check"])
        .code(0)
        .stdout_has("intact: 1 record(s)");
    let r = env.run("unpack", &["audit"]);
    r.code(0).stdout_has(&"é".repeat(16));
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

/// Item 6: names and texts from bundle files, manifests, audit logs and receipts reach the
/// terminal escaped on every path, bidirectional and invisible characters included.
#[test]
fn nothing_from_a_file_reaches_the_terminal_unescaped() {
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let evil = "evil\u{1b}]0;owned\u{7}\u{202e}\u{200b}.tar.zst";
    std::fs::copy(env.path("b.tar.zst"), env.path(evil)).unwrap();
    let mut runs = vec![
        env.run("unpack", &["verify", evil, "--allow-unsigned"]),
        env.run("unpack", &["verify", evil, "--allow-unsigned", "--json"]),
        env.run("unpack", &["inspect", evil]),
        env.run("unpack", &["inspect", evil, "--json"]),
        env.run(
            "unpack",
            &["emit", evil, "--allow-unsigned", "--to-dir", "cms\u{1b}[2J"],
        ),
        env.run("unpack", &["verify", "missing\u{1b}[2J.tar", "--allow-unsigned"]),
    ];
    let mut bad = std::fs::read(env.path("b.tar.zst")).unwrap();
    let n = bad.len();
    bad[n / 2] ^= 0x10;
    std::fs::write(env.path(evil), bad).unwrap();
    runs.push(env.run("unpack", &["verify", evil, "--allow-unsigned"]));
    runs.push(env.run("unpack", &["verify", evil, "--allow-unsigned", "--json"]));
    assert!(
        runs[0]
            .stdout
            .contains("evil\\u{1b}]0;owned\\u{7}\\u{202e}\\u{200b}.tar.zst"),
        "{}",
        runs[0].stdout
    );
    // Audit records with hostile fields, chained correctly: the log is anyone's who can write it.
    append_raw_record(
        &env.path("state/sigbundle/audit.log"),
        sigbundle::audit::Record {
            seq: 0,
            time: "2026-01-01T00:00:00Z\u{1b}[5m".into(),
            action: "verify\u{1b}[2J".into(),
            outcome: "ok\u{202e}".into(),
            bundle: "x\u{9b}31m".into(),
            bundle_sha256: Some("\u{1b}]0;t\u{7}".into()),
            packer: Some("\u{200b}".into()),
            cosigners: vec!["\u{1b}[31m".into()],
            releases: vec![sigbundle::audit::RecordRelease {
                digest: "sha256:\u{1b}[1m".into(),
                signatures: vec![],
            }],
            destination: Some(sigbundle::audit::Destination::StoreDir {
                path: "\u{1b}[2J".into(),
            }),
            problems: vec![],
            tool: "sigbundle".into(),
            prev: String::new(),
            hash: None,
        },
    );
    runs.push(env.run("unpack", &["audit"]));
    runs.push(env.run("unpack", &["audit", "--by-release"]));
    runs.push(env.run("unpack", &["audit", "--json"]));
    let receipt = serde_json::json!({
        "bundle": "r\u{1b}[2J\u{202e}", "bundle_sha256": "\u{1b}]0;x\u{7}", "manifest_sha256": "m",
        "created": "c", "packer": "p", "releases": ["\u{1b}[1m"]
    });
    std::fs::write(env.path("receipt.json"), receipt.to_string()).unwrap();
    runs.push(env.run("unpack", &["audit", "--receipt", "receipt.json"]));
    std::fs::write(env.path("state/sigbundle/audit.log"), "{\"seq\":1,\"x\u{1b}[2J\":1}\n").unwrap();
    runs.push(env.run("unpack", &["audit", "--check"]));
    runs.push(env.run("unpack", &["audit"]));
    for (i, r) in runs.iter().enumerate() {
        assert_terminal_safe(&format!("run {i}"), r);
    }
    // JSON stays JSON, and means the same.
    let v: serde_json::Value = serde_json::from_str(&runs[1].stdout).unwrap();
    assert_eq!(v["bundle"], evil);
}

/// Item 10: what the audit log and the cluster are told about the packer is what was verified,
/// not what the manifest claims.
#[test]
fn an_unsigned_bundle_is_recorded_as_unsigned_whatever_it_claims() {
    let env = Env::new();
    let api = env.cluster();
    let (key, public) = env.packer_key("ops");
    let fpr = {
        env.pack(Some(&key), "s.tar", "zstd", &[RH_4_15_0]).code(0);
        let m = Manifest::parse(
            &tar_members(&zstd::decode_all(&std::fs::read(env.path("s.tar")).unwrap()[..]).unwrap())[0].1,
        )
        .unwrap();
        m.packer
    };
    let (mut m, members) = plain(&env);
    m.packer = fpr.clone();
    std::fs::write(env.path("claims.tar"), craft(&m, &members, Compression::None)).unwrap();
    let pk = public.to_str().unwrap();
    env.run("unpack", &["verify", "claims.tar", "--allow-unsigned"]).code(0);
    env.run(
        "unpack",
        &["verify", "claims.tar", "--allow-unsigned", "--packer-key", pk],
    )
    .code(0);
    env.run(
        "unpack",
        &["apply", "claims.tar", "--allow-unsigned", "--kubeconfig", "kubeconfig"],
    )
    .code(0);
    for r in env.audit_records() {
        assert_eq!(r["packer"], "unsigned", "{r}");
    }
    let objects = api.state.objects.lock().unwrap();
    assert!(!objects.is_empty());
    for (name, o) in objects.iter() {
        assert_eq!(
            o["metadata"]["annotations"]["sigbundle.io/packer"], "unsigned",
            "{name}"
        );
    }
    drop(objects);
    // Signed by the key it names, the same manifest is recorded as that packer's.
    env.run("unpack", &["verify", "s.tar", "--packer-key", pk]).code(0);
    assert_eq!(env.audit_records().last().unwrap()["packer"], fpr.as_str());
}

/// Item 12: a packer signature dated in this host's future verifies, with a warning.
#[test]
fn a_packer_signature_from_the_future_is_accepted_with_a_warning() {
    let env = Env::new();
    let now = SystemTime::now();
    let c = keys::cert(now - DAY, None);
    let public = write_key(&env, "k.pub.asc", &keys::public(&c));
    let bytes = signed_by(&env, &keys::fingerprint(&c), |m| {
        keys::sign(&c, false, now + 3 * DAY, m)
    });
    std::fs::write(env.path("f.tar"), bytes).unwrap();
    let r = env.run("unpack", &["verify", "f.tar", "--packer-key", &public]);
    r.code(0)
        .stderr_has("in this host's future")
        .stdout_has("signature verified");
}

/// Items 13 and 15: nothing is written through a link under a destination, a whole plan is
/// checked before anything is written, and a link is called a link.
#[test]
fn emit_never_writes_through_links_and_checks_the_plan_first() {
    use std::os::unix::fs::symlink;
    let env = Env::new();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
    let mut digests: Vec<String> = RH_ALL.iter().map(|d| hex(d)).collect();
    digests.sort();
    std::fs::create_dir_all(env.path("sigs")).unwrap();
    std::fs::create_dir_all(env.path("outside")).unwrap();
    symlink("../outside", env.path(&format!("sigs/sha256={}", digests[1]))).unwrap();
    let emit = |dir: &str| env.run("unpack", &["emit", "b.tar.zst", "--allow-unsigned", "--store-dir", dir]);
    emit("sigs").code(2).stderr_has("is a symbolic link");
    assert!(env.ls("outside").is_empty(), "written through the link");
    assert_eq!(
        env.ls("sigs"),
        [format!("sha256={}", digests[1])],
        "nothing else was written"
    );
    std::fs::remove_file(env.path(&format!("sigs/sha256={}", digests[1]))).unwrap();
    // The last release's signature-1 is a folder: refused before the first is written.
    std::fs::create_dir_all(env.path(&format!("sigs/sha256={}/signature-1", digests[2]))).unwrap();
    emit("sigs").code(2).stderr_has("signature-1 is a directory");
    assert_eq!(
        env.ls("sigs"),
        [format!("sha256={}", digests[2])],
        "no folder left behind"
    );
    std::fs::remove_dir_all(env.path("sigs")).unwrap();
    emit("sigs").code(0);
    assert_eq!(env.ls("sigs").len(), 3);
    // A dangling link where a ConfigMap goes is named as a link.
    std::fs::create_dir_all(env.path("cms")).unwrap();
    let file = format!("signature-sha256-{}.json", &digests[0][..16]);
    symlink("/nonexistent/x", env.path(&format!("cms/{file}"))).unwrap();
    let r = env.run(
        "unpack",
        &["emit", "b.tar.zst", "--allow-unsigned", "--to-dir", "cms", "--force"],
    );
    r.code(2).stderr_has("is a symbolic link");
    assert!(!r.stderr.contains("different content"), "{}", r.stderr);
    assert_eq!(env.ls("cms"), [file]);
    let recs = env.audit_records();
    assert_eq!(
        recs.iter().map(|r| r["outcome"].as_str().unwrap()).collect::<Vec<_>>(),
        ["failed", "failed", "ok", "failed"]
    );
}

/// Items 14 and 15: a log that cannot take a record stops the step before it acts, and says
/// what is wrong with it (not "line 0").
#[test]
fn a_log_that_cannot_take_a_record_stops_the_step_before_it_acts() {
    let env = Env::new();
    let api = env.cluster();
    env.pack_unsigned("b.tar.zst", "zstd").code(0);
    env.run("unpack", &["verify", "b.tar.zst", "--allow-unsigned"]).code(0);
    let path = env.path("state/sigbundle/audit.log");
    let good = std::fs::read_to_string(&path).unwrap();
    type Breakage<'a> = (&'a str, Box<dyn Fn() + 'a>, &'a str);
    let cases: Vec<Breakage> = vec![
        (
            "partial last line",
            Box::new(|| std::fs::write(&path, format!("{good}{{\"seq\":2,")).unwrap()),
            "it ends in a partial record (9 byte(s) after the last newline",
        ),
        (
            "last line not a record",
            Box::new(|| std::fs::write(&path, format!("{good}not json\n")).unwrap()),
            "its last record (at byte",
        ),
        (
            "log is a directory",
            Box::new(|| {
                std::fs::remove_file(&path).unwrap();
                std::fs::create_dir(&path).unwrap();
            }),
            "it is a directory",
        ),
    ];
    for (what, break_it, cause) in cases {
        break_it();
        for args in [
            vec!["emit", "b.tar.zst", "--allow-unsigned", "--to-dir", "cms"],
            vec!["emit", "b.tar.zst", "--allow-unsigned", "--store-dir", "sigs"],
            vec!["apply", "b.tar.zst", "--allow-unsigned", "--kubeconfig", "kubeconfig"],
            vec!["verify", "b.tar.zst", "--allow-unsigned"],
        ] {
            let r = env.run("unpack", &args);
            r.code(2).stderr_has(cause).stderr_has("nothing was done");
            assert!(!r.stderr.contains("line 0"), "{what}: {}", r.stderr);
            assert!(
                !env.path("cms").exists() && !env.path("sigs").exists(),
                "{what}: {args:?} acted"
            );
            assert!(
                api.state.log.lock().unwrap().is_empty(),
                "{what}: apply reached the cluster"
            );
        }
        if path.is_dir() {
            std::fs::remove_dir(&path).unwrap();
        }
        std::fs::write(&path, &good).unwrap();
    }
    env.run("unpack", &["emit", "b.tar.zst", "--allow-unsigned", "--to-dir", "cms"])
        .code(0);
    env.run("unpack", &["audit", "--check"])
        .code(0)
        .stdout_has("intact: 2 record(s)");
}

/// What unpack would refuse for its size, pack does not write: one digest asked for under 300
/// names is over the manifest's bound of 256 names per release.
#[test]
fn pack_writes_no_bundle_unpack_would_refuse() {
    let env = Env::new();
    let list: String = (0..300)
        .map(|i| format!("registry{i}.example/ocp/release@{RH_4_15_0}\n"))
        .collect();
    std::fs::write(env.path("list.txt"), list).unwrap();
    let store = fixture("stores/redhat");
    env.run(
        "pack",
        &[
            "--store",
            store.to_str().unwrap(),
            "--no-sign",
            "--from-file",
            "list.txt",
            "-o",
            "b.tar.zst",
        ],
    )
    .code(2)
    .stderr_has("would be refused by unpack")
    .stderr_has("300 names");
    assert!(!env.path("b.tar.zst").exists());
}

/// Append a record with any text in its fields, chained as the log chains records: a log is
/// anyone's who can write it, and sigbundle itself writes only the actions and outcomes it knows.
fn append_raw_record(path: &std::path::Path, mut rec: sigbundle::audit::Record) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let last: Option<sigbundle::audit::Record> = text.lines().last().map(|l| serde_json::from_str(l).unwrap());
    rec.seq = last.as_ref().map_or(1, |r| r.seq + 1);
    rec.prev = last.map_or(sigbundle::audit::GENESIS.to_string(), |r| r.hash.unwrap());
    rec.hash = None;
    rec.hash = Some(rec.compute_hash());
    let mut line = serde_json::to_string(&rec).unwrap();
    line.push('\n');
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text + &line).unwrap();
}
