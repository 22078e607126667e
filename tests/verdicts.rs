//! The verdict is the product: signatures the cluster-version operator's own code judged
//! (tests/fixtures/cvo-differential: the 51 cases judged before this project; more classes the
//! differential campaign found, in tests/fixtures/cvo-verdicts), each driven through the real
//! binaries — `pack --dry-run --json`, `pack` + `unpack verify`, `unpack emit` — which must all say
//! what the cluster said. Then the trust configuration as the cluster reads it (several
//! `verifier-public-key-*` entries, only the first armored block of a keyring) and `--strict`.

mod common;

use base64::Engine;
use common::*;

const DIGEST: &str = "sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363";

/// One row of a verdict table: the case, its keyring file, the digest its store holds, the
/// cluster's verdict (`OK` or `FAIL: …`) and the signature's bytes.
struct Case {
    name: String,
    key: std::path::PathBuf,
    digest: String,
    cluster: String,
    bytes: Vec<u8>,
}

fn cases(dir: &str) -> Vec<Case> {
    let root = fixture(dir);
    let tsv = std::fs::read_to_string(root.join("expected.tsv")).unwrap();
    tsv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.splitn(3, '\t').collect();
            let store = root.join("stores").join(c[0]);
            let hex = std::fs::read_dir(&store)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .find_map(|n| n.strip_prefix("sha256=").map(str::to_string))
                .unwrap();
            let sig = store.join(format!("sha256={hex}")).join("signature-1");
            Case {
                name: c[0].to_string(),
                key: root.join("keys").join(c[1]),
                digest: format!("sha256:{hex}"),
                cluster: c[2].to_string(),
                bytes: std::fs::read(sig).unwrap(),
            }
        })
        .collect()
}

/// One case through pack's dry run, a real pack, unpack verify and unpack emit (when the cluster
/// accepts it), or through unpack verify of a bundle that carries it anyway (when it refuses).
fn drive(
    env: &Env,
    template: &(sigbundle::manifest::Manifest, Vec<(String, Vec<u8>)>),
    dir: &str,
    case: &Case,
) -> Vec<String> {
    let Case {
        name,
        key,
        digest,
        cluster,
        bytes,
    } = case;
    let digest = digest.as_str();
    let ok = cluster == "OK";
    let key = key.to_str().unwrap();
    let store = fixture(&format!("{dir}/stores/{name}"));
    let store = store.to_str().unwrap();
    let mut wrong = Vec::new();
    let plan = env.run(
        "pack",
        &[
            "--dry-run",
            "--json",
            "--no-sign",
            "-o",
            "/dev/null",
            "--store",
            store,
            "--keyring",
            key,
            digest,
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap_or_default();
    let verdict = v["plan"][0]["signatures"][0]["verdict"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    // Accepted: exit 0 and the release packed from a store; its signature valid. (A signature
    // can be valid for one trust entry while the release, needing every entry, is refused.)
    let packed_from = !v["plan"][0]["store"].is_null();
    if (plan.code == 0) != ok || packed_from != ok || (ok && verdict != "valid") {
        wrong.push(format!(
            "{name}: cluster {cluster:?}; pack --dry-run exit {} verdict {verdict}",
            plan.code
        ));
    }
    let bundle = format!("{name}.tar");
    if ok {
        let packed = env.run(
            "pack",
            &[
                "--no-sign",
                "--compression",
                "none",
                "-q",
                "-o",
                &bundle,
                "--store",
                store,
                "--keyring",
                key,
                digest,
            ],
        );
        if packed.code != 0 {
            wrong.push(format!(
                "{name}: cluster OK; pack exit {}: {}",
                packed.code, packed.stderr
            ));
            return wrong;
        }
    } else {
        // A bundle carrying the refused signature, as a tamperer would make it.
        let (mut manifest, mut members) = template.clone();
        let path = manifest.releases[0].signatures[0].path.clone();
        replace_member(&mut manifest, &mut members, &path, bytes.clone());
        let tar = sigbundle::bundle::write_bundle(
            Vec::new(),
            sigbundle::bundle::Compression::None,
            0,
            &manifest.to_bytes(),
            None,
            &members,
        )
        .unwrap();
        std::fs::write(env.path(&bundle), tar).unwrap();
    }
    let verify = env.run("unpack", &["verify", &bundle, "--allow-unsigned", "--keyring", key]);
    if (verify.code == 0) != ok {
        wrong.push(format!(
            "{name}: cluster {cluster:?}; unpack verify exit {}: {}",
            verify.code,
            verify.stderr.trim()
        ));
    }
    if ok {
        let out = format!("cm-{name}");
        env.run(
            "unpack",
            &["emit", &bundle, "--allow-unsigned", "--keyring", key, "--to-dir", &out],
        )
        .code(0);
        let files = env.ls(&out);
        let cm: serde_json::Value =
            serde_json::from_slice(&std::fs::read(env.path(&format!("{out}/{}", files[0]))).unwrap()).unwrap();
        let key = format!("sha256-{}-1", &digest[7..]);
        let emitted = base64::engine::general_purpose::STANDARD
            .decode(cm["binaryData"][&key].as_str().unwrap())
            .unwrap();
        if &emitted != bytes {
            wrong.push(format!(
                "{name}: the emitted ConfigMap does not carry the signature's exact bytes"
            ));
        }
    }
    wrong
}

fn drive_table(dir: &str, at_least: usize) {
    let env = Env::new();
    // The bundle every refused case is put into: one good signature of the digest, packed.
    let good = cases("cvo-differential")
        .into_iter()
        .find(|c| c.name == "p00-good-zip")
        .unwrap();
    let store = fixture("cvo-differential/stores/p00-good-zip");
    env.run(
        "pack",
        &[
            "--no-sign",
            "--compression",
            "none",
            "-q",
            "-o",
            "template.tar",
            "--store",
            store.to_str().unwrap(),
            "--keyring",
            good.key.to_str().unwrap(),
            DIGEST,
        ],
    )
    .code(0);
    let mut members = tar_members(&std::fs::read(env.path("template.tar")).unwrap());
    let manifest = sigbundle::manifest::Manifest::parse(&members.remove(0).1).unwrap();
    let template = (manifest, members);
    let all = cases(dir);
    assert!(all.len() >= at_least, "{dir}: {} cases", all.len());
    let wrong: Vec<String> = all.iter().flat_map(|c| drive(&env, &template, dir, c)).collect();
    assert!(
        wrong.is_empty(),
        "{} disagreements with the cluster:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn the_51_cases_the_cluster_judged_agree_through_every_command() {
    drive_table("cvo-differential", 51);
}

/// A keyring entry ConfigMap with two entries (the cluster's `release-verification` shape).
fn two_entry_configmap(env: &Env, a: &GpgSigner, b: &GpgSigner) -> String {
    let key = |p: &std::path::Path| std::fs::read_to_string(p).unwrap().trim_end().replace('\n', "\n    ");
    let cm = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-verification\n  namespace: openshift-config-managed\ndata:\n  verifier-public-key-a: |\n    {}\n  verifier-public-key-b: |\n    {}\n",
        key(&a.public),
        key(&b.public)
    );
    std::fs::write(env.path("trust.yaml"), cm).unwrap();
    env.path("trust.yaml").display().to_string()
}

#[test]
fn every_trust_entry_must_be_satisfied_and_the_manifest_says_which() {
    let env = Env::new();
    let (a, b) = (GpgSigner::named(&env, "a"), GpgSigner::named(&env, "b"));
    let trust = two_entry_configmap(&env, &a, &b);
    let both = env.path("both");
    a.sign_into(
        &both,
        DIGEST,
        1,
        "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64",
    );
    b.sign_into(
        &both,
        DIGEST,
        2,
        "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64",
    );
    let only_a = env.path("only-a");
    a.sign_into(
        &only_a,
        DIGEST,
        1,
        "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64",
    );
    // Only one entry satisfied: the cluster refuses, and so does pack.
    env.run(
        "pack",
        &[
            "--no-sign",
            "-o",
            "x.tar",
            "--store",
            "only-a",
            "--keyring",
            &trust,
            DIGEST,
        ],
    )
    .code(1)
    .stderr_has("verifier-public-key-b");
    // Both: packed, each signature recorded with the entry it satisfies.
    env.run(
        "pack",
        &[
            "--no-sign",
            "--compression",
            "none",
            "-q",
            "-o",
            "both.tar",
            "--store",
            "both",
            "--keyring",
            &trust,
            DIGEST,
        ],
    )
    .code(0);
    let members = tar_members(&std::fs::read(env.path("both.tar")).unwrap());
    let m: serde_json::Value = serde_json::from_slice(&members[0].1).unwrap();
    let satisfies: Vec<String> = m["releases"][0]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["satisfies"].to_string())
        .collect();
    assert_eq!(
        satisfies,
        [r#"["verifier-public-key-a"]"#, r#"["verifier-public-key-b"]"#]
    );
    env.run(
        "unpack",
        &["verify", "both.tar", "--allow-unsigned", "--keyring", &trust],
    )
    .code(0);
    // Verified on the air-gapped side against the same two entries: a bundle holding only the
    // first signature is refused, naming the entry nobody satisfied.
    let mut members = members;
    let mut manifest = sigbundle::manifest::Manifest::parse(&members.remove(0).1).unwrap();
    let gone = manifest.releases[0].signatures.pop().unwrap();
    manifest.members.retain(|x| x.path != gone.path);
    members.retain(|x| x.0 != gone.path);
    let tar = sigbundle::bundle::write_bundle(
        Vec::new(),
        sigbundle::bundle::Compression::None,
        0,
        &manifest.to_bytes(),
        None,
        &members,
    )
    .unwrap();
    std::fs::write(env.path("half.tar"), tar).unwrap();
    env.run(
        "unpack",
        &["verify", "half.tar", "--allow-unsigned", "--keyring", &trust],
    )
    .code(1)
    .stderr_has("no valid signature for verifier-public-key-b");
}

#[test]
fn only_the_first_armored_block_of_a_keyring_counts_and_pack_says_so() {
    let env = Env::new();
    let (a, b) = (GpgSigner::named(&env, "a"), GpgSigner::named(&env, "b"));
    let mut two = std::fs::read(&a.public).unwrap();
    two.extend(std::fs::read(&b.public).unwrap());
    std::fs::write(env.path("two-blocks.asc"), two).unwrap();
    b.sign_into(
        &env.path("by-b"),
        DIGEST,
        1,
        "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64",
    );
    a.sign_into(
        &env.path("by-a"),
        DIGEST,
        1,
        "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64",
    );
    let run = |store: &str| {
        env.run(
            "pack",
            &[
                "--dry-run",
                "--no-sign",
                "-o",
                "/dev/null",
                "--store",
                store,
                "--keyring",
                "two-blocks.asc",
                DIGEST,
            ],
        )
    };
    run("by-a")
        .code(0)
        .stderr_has("holds 2 armored blocks; the cluster reads only the first");
    run("by-b").code(1).stdout_has("untrusted-signer");
}

#[test]
fn strict_refuses_what_the_cluster_accepts_with_a_verdict_of_its_own() {
    let env = Env::new();
    let key = fixture("cvo-differential/keys/test.asc");
    let key = key.to_str().unwrap();
    for case in ["p30-md5", "p20-sha1", "p05-trailing-json", "p07-key-case"] {
        let store = fixture(&format!("cvo-differential/stores/{case}"));
        let store = store.to_str().unwrap();
        let base = [
            "--dry-run",
            "--no-sign",
            "-o",
            "/dev/null",
            "--store",
            store,
            "--keyring",
            key,
        ];
        let mut args = base.to_vec();
        args.push(DIGEST);
        env.run("pack", &args).code(0).stdout_has(" valid ");
        let mut args = base.to_vec();
        args.extend(["--strict", DIGEST]);
        env.run("pack", &args).code(1).stdout_has("strict-refused");
        // The same on the air-gapped side.
        env.run(
            "pack",
            &[
                "--no-sign",
                "--compression",
                "none",
                "-q",
                "-o",
                &format!("{case}.tar"),
                "--store",
                store,
                "--keyring",
                key,
                DIGEST,
            ],
        )
        .code(0);
        env.run(
            "unpack",
            &["verify", &format!("{case}.tar"), "--allow-unsigned", "--keyring", key],
        )
        .code(0);
        env.run(
            "unpack",
            &[
                "verify",
                &format!("{case}.tar"),
                "--allow-unsigned",
                "--keyring",
                key,
                "--strict",
            ],
        )
        .code(1)
        .stderr_has("strict-refused");
    }
    // A signature both accept stays valid under --strict.
    let store = fixture("cvo-differential/stores/p00-good-zip");
    env.run(
        "pack",
        &[
            "--dry-run",
            "--no-sign",
            "-o",
            "/dev/null",
            "--strict",
            "--store",
            store.to_str().unwrap(),
            "--keyring",
            key,
            DIGEST,
        ],
    )
    .code(0);
}

#[test]
fn the_kinds_of_disagreement_the_campaign_found_agree_through_every_command() {
    drive_table("cvo-verdicts", 340);
}

/// An OpenPGP packet with a new-format header and a five-octet length.
fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut p = vec![0xc0 | tag, 0xff];
    p.extend_from_slice(&(body.len() as u32).to_be_bytes());
    p.extend_from_slice(body);
    p
}

/// A ZIP-compressed packet holding `inner`.
fn zip_packet(inner: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(vec![1u8], flate2::Compression::best());
    e.write_all(inner).unwrap();
    packet(8, &e.finish().unwrap())
}

/// Where the cluster has no bound, sigbundle has one, and a refusal at it says so: 5 MiB of a
/// packet the cluster skips, compressed in front of a valid message; a nested compression bomb
/// (a few KiB inflating to 64 MiB, which took gigabytes before); a body over 256 KiB.
#[test]
fn resource_limits_are_refusals_that_say_so() {
    let env = Env::new();
    let good = cases("cvo-differential")
        .into_iter()
        .find(|c| c.name == "p00-good-zip")
        .unwrap();
    let key = good.key.to_str().unwrap();
    let write_store = |name: &str, bytes: &[u8]| {
        env.write_store(name, &[(DIGEST, bytes)]);
    };
    let mut padded = zip_packet(&packet(60, &vec![0u8; 5 << 20]));
    padded.extend_from_slice(&good.bytes);
    write_store("padded", &padded);
    // A one-pass packet (of an unknown key) makes the cluster read the literal to its end.
    let mut inner = packet(4, &[3, 0, 8, 1, 1, 2, 3, 4, 5, 6, 7, 8, 1]);
    let mut literal = b"b\0\0\0\0\0".to_vec();
    literal.resize(64 << 20, 0);
    inner.extend(packet(11, &literal));
    let bomb = zip_packet(&zip_packet(&inner));
    assert!(bomb.len() < 16 << 10, "the bomb is small: {}", bomb.len());
    write_store("bomb", &bomb);
    let mut big = good.bytes.clone();
    big.extend(std::iter::repeat_n(0u8, 300 << 10));
    write_store("big", &big);
    for (store, says) in [
        (
            "padded",
            "over sigbundle's resource limit: the message decompresses to more than 4194304 bytes",
        ),
        ("bomb", "over sigbundle's resource limit"),
    ] {
        env.run(
            "pack",
            &[
                "--dry-run",
                "--no-sign",
                "-o",
                "/dev/null",
                "--store",
                store,
                "--keyring",
                key,
                DIGEST,
            ],
        )
        .code(1)
        .stderr_has(says);
    }
    env.run(
        "pack",
        &[
            "--dry-run",
            "--no-sign",
            "-o",
            "/dev/null",
            "--store",
            "big",
            "--keyring",
            key,
            DIGEST,
        ],
    )
    .code(2)
    .stderr_has("larger than 262144 bytes");
}
