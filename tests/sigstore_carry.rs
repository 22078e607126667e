//! Sigstore `.sig` artifacts carried across the air gap, driven through the real binaries
//! against two real registries (Debian's `docker-registry` on 127.0.0.1: the source and the
//! mirror): `pack --sigstore` → `unpack verify` → `unpack push` into the mirror, the images
//! copied there without signatures; the pushed artifacts read back as a node reads them and
//! checked by an independent implementation (tests/common/cosign.rs); the hostile cases, each
//! refused with a named reason and nothing pushed.

mod common;

use common::cosign::{self, sig_tag, verify_read_back, CosignKey, SigArtifact, RH_ART_DEV, RH_RELEASE};
use common::{Env, GpgSigner, RegistryProcess};

/// The pieces every test here starts from.
struct World {
    env: Env,
    src: RegistryProcess,
    mirror: RegistryProcess,
    gpg: GpgSigner,
    rsa: CosignKey,
    ec: CosignKey,
}

impl World {
    fn new() -> World {
        let env = Env::new();
        let gpg = GpgSigner::new(&env);
        let rsa = CosignKey::rsa4096();
        let ec = CosignKey::ecdsa_p256();
        rsa.write_public(&env.path("rsa.pub"));
        ec.write_public(&env.path("ec.pub"));
        World {
            src: RegistryProcess::start(None),
            mirror: RegistryProcess::start(None),
            env,
            gpg,
            rsa,
            ec,
        }
    }

    /// A single-arch release image in `src/release:<tag>` (its config names `arch` and the
    /// tag, so each is its own image), with a GPG release signature in `store/`; returns its
    /// digest.
    fn release(&self, tag: &str, arch: &str) -> String {
        let (_, d) = self.src.push_image("src/release", tag, &format!("{arch}-{tag}"), None);
        self.gpg
            .sign_into(&self.env.path("store"), &d, 1, &format!("{RH_RELEASE}:{tag}"));
        d
    }

    /// A multi-arch release: an index of an amd64 and an arm64 instance; (index, instances).
    fn multi_release(&self, tag: &str) -> (String, [String; 2]) {
        let (am, a) = self.src.push_image("src/release", &format!("{tag}-amd64"), &format!("amd64-{tag}"), None);
        let (rm, r) = self.src.push_image("src/release", &format!("{tag}-arm64"), &format!("arm64-{tag}"), None);
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{a}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{r}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#,
            am.len(),
            rm.len()
        );
        let d = self.src.push_manifest(
            "src/release",
            tag,
            "application/vnd.oci.image.index.v1+json",
            index.as_bytes(),
            None,
        );
        self.gpg
            .sign_into(&self.env.path("store"), &d, 1, &format!("{RH_RELEASE}:{tag}"));
        (d, [a, r])
    }

    /// Sign `digest` in `src/release` as Red Hat does, with `key`.
    fn sign(&self, key: &CosignKey, digest: &str, tag: &str) -> SigArtifact {
        let art = key.artifact(&format!("{RH_RELEASE}:{tag}"), digest);
        self.src.push_sig("src/release", digest, &art);
        art
    }

    fn pullspec(&self, digest: &str) -> String {
        format!("{}/src/release@{digest}", self.src.host)
    }

    /// `pack --sigstore` of `releases` (pullspecs) with `extra` options; trusts both test keys.
    fn pack(&self, out: &str, extra: &[&str], releases: &[String]) -> common::Run {
        let mut args: Vec<&str> = vec![
            "--insecure-registry",
            &self.src.host,
            "--store",
            "store",
            "--keyring",
            self.gpg.public.to_str().unwrap(),
            "--no-sign",
            "--sigstore",
            "--sigstore-key",
            "rsa.pub",
            "--sigstore-key",
            "ec.pub",
            "-o",
            out,
        ];
        args.extend(extra);
        args.extend(releases.iter().map(String::as_str));
        self.env.run("pack", &args)
    }

    /// `unpack <cmd> BUNDLE --allow-unsigned --sigstore-key rsa.pub --sigstore-key ec.pub …`.
    fn unpack(&self, cmd: &str, bundle: &str, extra: &[&str]) -> common::Run {
        let mut args = vec![
            cmd,
            bundle,
            "--allow-unsigned",
            "--keyring",
            self.gpg.public.to_str().unwrap(),
            "--sigstore-key",
            "rsa.pub",
            "--sigstore-key",
            "ec.pub",
        ];
        args.extend(extra);
        self.env.run("unpack", &args)
    }
}

#[test]
fn pack_verify_push_and_a_node_reads_them_back() {
    let w = World::new();
    // An ECDSA-signed single-arch release, an RSA-signed multi-arch one (index + 2 instances),
    // and one with no .sig at all.
    let single = w.release("4.99.1-x86_64", "amd64");
    w.sign(&w.ec, &single, "4.99.1-x86_64");
    let (index, instances) = w.multi_release("4.99.2-multi");
    for d in std::iter::once(&index).chain(&instances) {
        w.sign(&w.rsa, d, "4.99.2-multi");
    }
    let unsigned = w.release("4.99.3-x86_64", "amd64");

    // Without --allow-missing the uncarried release refuses the pack, nothing written.
    let releases = [w.pullspec(&single), w.pullspec(&index), w.pullspec(&unsigned)];
    w.pack("b.tar.zst", &[], &releases)
        .code(1)
        .stderr_has("no sigstore signature a node accepts")
        .stderr_has(&format!("{RH_RELEASE}@{unsigned} (no-signature"));
    assert!(!w.env.path("b.tar.zst").exists());

    let r = w.pack("b.tar.zst", &["--allow-missing"], &releases);
    r.code(0)
        .stderr_has("sigstore: 4 .sig artifact(s) carried; 1 image(s) nodes check without one");
    let m = sigbundle::unpack::read_manifest_unverified(&w.env.path("b.tar.zst")).unwrap();
    assert_eq!(m.format, "sigbundle/v2");
    assert_eq!(m.sigstore.len(), 4, "index + 2 instances + the single-arch release");
    assert_eq!(m.sigstore_missing.len(), 1);
    assert_eq!(m.sigstore_missing[0].image.digest.to_string(), unsigned);
    assert_eq!(m.sigstore_missing[0].verdict, "no-signature");
    for e in &m.sigstore {
        assert_eq!(e.image.repository, RH_RELEASE);
        assert_eq!(e.verdict, "valid");
        assert!(m.members.iter().any(|mm| mm.path == format!("sigstore/blobs/sha256/{}", &e.signature[7..])));
    }
    let roles: Vec<_> = m.sigstore.iter().map(|e| (e.image.digest.to_string(), e.image.role.name())).collect();
    assert!(roles.contains(&(index.clone(), "index")));
    assert!(roles.contains(&(instances[0].clone(), "instance")));
    assert!(roles.contains(&(single.clone(), "image")));

    // The air-gapped side verifies every .sig again and reports it.
    let v = w.unpack("verify", "b.tar.zst", &[]);
    v.code(0).stdout_has("SIGSTORE .sig OF").stdout_has("not carried");
    assert_eq!(v.stdout.matches("  valid  ").count(), 4, "{}", v.stdout);
    let j = w.unpack("verify", "b.tar.zst", &["--json"]);
    j.code(0);
    let doc: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    let sig = doc["verified"]["sigstore"].as_array().unwrap();
    assert_eq!(sig.len(), 4);
    assert!(sig.iter().all(|s| s["node"]["verdict"] == "valid"));
    // Against another key, the bundle is refused, naming each artifact.
    w.env
        .run(
            "unpack",
            &["verify", "b.tar.zst", "--allow-unsigned", "--keyring", w.gpg.public.to_str().unwrap()],
        )
        .code(1)
        .stderr_has("sigstore signature of quay.io/openshift-release-dev/ocp-release@")
        .stderr_has("bad-signature");

    // The images reach the mirror without their .sig (as oc adm release mirror copies them).
    for d in [&single, &index, &unsigned] {
        w.mirror.copy_image_from(&w.src, "src/release", "ocp/release", d);
    }
    let mirror_repo = format!("{}/ocp/release", w.mirror.host);
    let push = |extra: &[&str]| {
        let mut a = vec!["--to", mirror_repo.as_str(), "--insecure-registry", w.mirror.host.as_str()];
        a.extend(extra);
        w.unpack("push", "b.tar.zst", &a)
    };
    // The plan first: four to create, nothing written.
    let before = w.mirror.tags("ocp/release");
    let plan = push(&["--dry-run"]);
    plan.code(0).stderr_has("planned 4 .sig artifact(s)").stderr_has("nothing pushed");
    assert_eq!(plan.stdout.matches("would create").count(), 4, "{}", plan.stdout);
    assert_eq!(w.mirror.tags("ocp/release"), before);

    push(&[]).code(0).stderr_has("pushed 4 .sig artifact(s): 4 written and read back identical");
    // Read back through the registry API, as a node reads them, by an independent check.
    for (d, key) in [
        (&single, &w.ec),
        (&index, &w.rsa),
        (&instances[0], &w.rsa),
        (&instances[1], &w.rsa),
    ] {
        let got = verify_read_back(&w.mirror, "ocp/release", d, &key.public_pem, RH_RELEASE)
            .unwrap_or_else(|e| panic!("{d}: {e}"));
        let carried = m.sigstore.iter().find(|e| &e.image.digest.to_string() == d).unwrap();
        assert_eq!(got, carried.signature, "the .sig digest is unchanged");
        assert_eq!(
            w.mirror.get_manifest("ocp/release", &sig_tag(d)).2,
            w.src.get_manifest("src/release", &sig_tag(d)).2,
            "byte for byte"
        );
    }
    // The release whose .sig was not carried has none there.
    assert_eq!(w.mirror.get_manifest("ocp/release", &sig_tag(&unsigned)).0, 404);
    assert!(verify_read_back(&w.mirror, "ocp/release", &unsigned, &w.rsa.public_pem, RH_RELEASE).is_err());

    // Again: unchanged.
    let again = push(&["--json"]);
    again.code(0);
    let doc: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert!(doc["items"].as_array().unwrap().iter().all(|i| i["action"] == "unchanged"));

    // One audit record per push, with the destination and every artifact.
    let recs = w.env.audit_records();
    let pushes: Vec<_> = recs.iter().filter(|r| r["action"] == "push").collect();
    assert_eq!(pushes.len(), 3, "dry run, push, push again");
    let dest = &pushes[1]["destination"];
    assert_eq!(dest["kind"], "registry", "{dest}");
    assert_eq!(dest["repositories"][0], mirror_repo);
    assert_eq!(dest["artifacts"].as_array().unwrap().len(), 4);
    assert!(dest["artifacts"].as_array().unwrap().iter().all(|a| a["done"] == true && a["action"] == "create"));
    assert_eq!(pushes[1]["sigstore"].as_array().unwrap().len(), 4);
    w.env.run("unpack", &["audit"]).code(0).stdout_has("push").stdout_has("registry:");
    w.env.run("unpack", &["audit", "--check"]).code(0);

    // inspect shows them, unverified.
    w.env
        .run("unpack", &["inspect", "b.tar.zst"])
        .code(0)
        .stdout_has("format     sigbundle/v2")
        .stdout_has("SIGSTORE .sig OF")
        .stdout_has(&index);

    // A different .sig under the same tag: a conflict, left alone; --force replaces it.
    let other = w.rsa.artifact(&format!("{RH_RELEASE}:other"), &single);
    w.mirror.push_sig("ocp/release", &single, &other);
    push(&[])
        .code(1)
        .stdout_has("conflict")
        .stderr_has("1 .sig artifact(s) left in conflict");
    assert_eq!(w.mirror.get_manifest("ocp/release", &sig_tag(&single)).2, other.manifest);
    push(&["--force"]).code(0).stdout_has("replaced");
    verify_read_back(&w.mirror, "ocp/release", &single, &w.ec.public_pem, RH_RELEASE).unwrap();
    let recs = w.env.audit_records();
    assert!(recs.iter().any(|r| r["action"] == "push" && r["outcome"] == "conflict"));

    // emit --oci-dir: the same artifacts as an OCI image layout, tagged sha256-<d>.sig.
    w.unpack("emit", "b.tar.zst", &["--oci-dir", "layout"])
        .code(0)
        .stderr_has("4 .sig artifact(s) as an OCI image layout");
    let index_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.env.path("layout/index.json")).unwrap()).unwrap();
    let tags: Vec<&str> = index_json["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str().unwrap())
        .collect();
    assert_eq!(tags.len(), 4);
    assert!(tags.contains(&sig_tag(&index).as_str()));
    assert_eq!(
        std::fs::read(w.env.path("layout/oci-layout")).unwrap(),
        br#"{"imageLayoutVersion":"1.0.0"}"#
    );
    for m in index_json["manifests"].as_array().unwrap() {
        let d = m["digest"].as_str().unwrap();
        let blob = std::fs::read(w.env.path(&format!("layout/blobs/sha256/{}", &d[7..]))).unwrap();
        assert_eq!(cosign::sha256(&blob), d);
    }
    // A v1 bundle (no --sigstore) still reads, and has nothing to push.
    w.env
        .run(
            "pack",
            &[
                "--store",
                "store",
                "--keyring",
                w.gpg.public.to_str().unwrap(),
                "--no-sign",
                "-o",
                "v1.tar.zst",
                &single,
            ],
        )
        .code(0);
    w.unpack("verify", "v1.tar.zst", &[]).code(0);
    w.unpack("push", "v1.tar.zst", &["--to", &mirror_repo, "--insecure-registry", &w.mirror.host])
        .code(2)
        .stderr_has("holds no sigstore .sig artifacts");
}
