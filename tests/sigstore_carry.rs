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
        let (am, a) = self
            .src
            .push_image("src/release", &format!("{tag}-amd64"), &format!("amd64-{tag}"), None);
        let (rm, r) = self
            .src
            .push_image("src/release", &format!("{tag}-arm64"), &format!("arm64-{tag}"), None);
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
        assert!(m
            .members
            .iter()
            .any(|mm| mm.path == format!("sigstore/blobs/sha256/{}", &e.signature[7..])));
    }
    let roles: Vec<_> = m
        .sigstore
        .iter()
        .map(|e| (e.image.digest.to_string(), e.image.role.name()))
        .collect();
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
    let sig = doc["sigstore"].as_array().unwrap();
    assert_eq!(sig.len(), 4);
    assert!(sig.iter().all(|s| s["node"]["verdict"] == "valid"));
    // Against another key, the bundle is refused, naming each artifact.
    w.env
        .run(
            "unpack",
            &[
                "verify",
                "b.tar.zst",
                "--allow-unsigned",
                "--keyring",
                w.gpg.public.to_str().unwrap(),
            ],
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
        let mut a = vec![
            "--to",
            mirror_repo.as_str(),
            "--insecure-registry",
            w.mirror.host.as_str(),
        ];
        a.extend(extra);
        w.unpack("push", "b.tar.zst", &a)
    };
    // The plan first: four to create, nothing written.
    let before = w.mirror.tags("ocp/release");
    let plan = push(&["--dry-run"]);
    plan.code(0)
        .stderr_has("planned 4 .sig artifact(s)")
        .stderr_has("nothing pushed");
    assert_eq!(plan.stdout.matches("would create").count(), 4, "{}", plan.stdout);
    assert_eq!(w.mirror.tags("ocp/release"), before);

    push(&[])
        .code(0)
        .stderr_has("pushed 4 .sig artifact(s): 4 written and read back identical");
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
    assert!(doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["action"] == "unchanged"));

    // One audit record per push, with the destination and every artifact.
    let recs = w.env.audit_records();
    let pushes: Vec<_> = recs.iter().filter(|r| r["action"] == "push").collect();
    assert_eq!(pushes.len(), 3, "dry run, push, push again");
    let dest = &pushes[1]["destination"];
    assert_eq!(dest["kind"], "registry", "{dest}");
    assert_eq!(dest["repositories"][0], mirror_repo);
    assert_eq!(dest["artifacts"].as_array().unwrap().len(), 4);
    assert!(dest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["done"] == true && a["action"] == "create"));
    assert_eq!(pushes[1]["sigstore"].as_array().unwrap().len(), 4);
    w.env
        .run("unpack", &["audit"])
        .code(0)
        .stdout_has("push")
        .stdout_has("registry:");
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
    assert_eq!(
        w.mirror.get_manifest("ocp/release", &sig_tag(&single)).2,
        other.manifest
    );
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
    // Incremental: releases carried before are left out, their .sig too; a new one is packed
    // with its .sig.
    let fresh = w.release("4.99.4-x86_64", "amd64");
    w.sign(&w.ec, &fresh, "4.99.4-x86_64");
    w.pack(
        "inc.tar.zst",
        &["--exclude-carried", "b.tar.zst"],
        &[w.pullspec(&single), w.pullspec(&index), w.pullspec(&fresh)],
    )
    .code(0)
    .stderr_has("2 release(s) left out as already carried");
    let inc = sigbundle::unpack::read_manifest_unverified(&w.env.path("inc.tar.zst")).unwrap();
    assert_eq!(inc.releases.len(), 1);
    assert_eq!(inc.sigstore.len(), 1);
    assert_eq!(inc.sigstore[0].image.digest.to_string(), fresh);
    w.unpack("verify", "inc.tar.zst", &[]).code(0);

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
    w.unpack(
        "push",
        "v1.tar.zst",
        &["--to", &mirror_repo, "--insecure-registry", &w.mirror.host],
    )
    .code(2)
    .stderr_has("holds no sigstore .sig artifacts");
}

/// An `image-references` ImageStream naming `components` (name, digest) in `repository`.
fn image_references(repository: &str, components: &[(String, String)]) -> String {
    let tags: Vec<String> = components
        .iter()
        .map(|(n, d)| format!(r#"{{"name":"{n}","from":{{"kind":"DockerImage","name":"{repository}@{d}"}}}}"#))
        .collect();
    format!(
        r#"{{"kind":"ImageStream","apiVersion":"image.openshift.io/v1","metadata":{{"name":"4.99.5"}},"spec":{{"tags":[{}]}}}}"#,
        tags.join(",")
    )
}

/// A gzip'd tar layer of `files`.
fn layer(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, path, *data).unwrap();
    }
    let raw = t.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    gz.finish().unwrap()
}

impl World {
    /// A release image whose top layer holds `release-manifests/image-references` (a lower
    /// one other files), with a GPG signature; returns its digest.
    fn release_with_components(&self, tag: &str, refs: &str) -> String {
        let lower = layer(&[("usr/bin/cluster-version-operator", b"binary")]);
        let upper = layer(&[
            ("release-manifests/release-metadata", b"{}"),
            ("release-manifests/image-references", refs.as_bytes()),
        ]);
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[]}},"tag":"{tag}"}}"#
        );
        let cd = self.src.push_blob("src/release", config.as_bytes(), None);
        let ld = self.src.push_blob("src/release", &lower, None);
        let ud = self.src.push_blob("src/release", &upper, None);
        let manifest = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{ld}","size":{}}},{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{ud}","size":{}}}]}}"#,
            config.len(),
            lower.len(),
            upper.len()
        );
        let d = self.src.push_manifest(
            "src/release",
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
            None,
        );
        self.gpg
            .sign_into(&self.env.path("store"), &d, 1, &format!("{RH_RELEASE}:{tag}"));
        d
    }

    /// `n` component images in `src/art-dev`, the first `signed` of them signed (RSA) as
    /// Red Hat signs components; (name, digest) each.
    fn components(&self, n: usize, signed: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| {
                let name = format!("component-{i:03}");
                let (_, d) = self
                    .src
                    .push_image("src/art-dev", &name, &format!("amd64-{name}"), None);
                if i < signed {
                    let art = self.rsa.artifact(&format!("{RH_ART_DEV}@{d}"), &d);
                    self.src.push_sig("src/art-dev", &d, &art);
                }
                (name, d)
            })
            .collect()
    }
}

#[test]
fn components_from_the_release_image_to_their_own_mirror_and_by_idms() {
    let w = World::new();
    let comps = w.components(3, 2);
    let refs = image_references(RH_ART_DEV, &comps);
    let release = w.release_with_components("4.99.5-x86_64", &refs);
    w.sign(&w.rsa, &release, "4.99.5-x86_64");
    let art_dev = format!("{}/src/art-dev", w.src.host);

    // The compiled-in policy (as OCP ships it after 4.21) checks every component: the one
    // without a .sig refuses the pack.
    let r = w.pack(
        "d.tar.zst",
        &["--sigstore-components", "--components-repo", &art_dev],
        &[w.pullspec(&release)],
    );
    r.code(1)
        .stderr_has(&format!("{RH_ART_DEV}@{} (no-signature", comps[2].1));
    assert!(!w.env.path("d.tar.zst").exists());

    // The 4.21 policy (read from its YAML, its key replaced by --sigstore-key) checks the
    // release image only: a component without a .sig is said, not fatal.
    use base64::Engine;
    let policy = format!(
        "apiVersion: config.openshift.io/v1\nkind: ClusterImagePolicy\nmetadata:\n  name: openshift\nspec:\n  scopes:\n  - {RH_RELEASE}\n  policy:\n    rootOfTrust:\n      policyType: PublicKey\n      publicKey:\n        keyData: {}\n    signedIdentity:\n      matchPolicy: MatchRepoDigestOrExact\n",
        base64::engine::general_purpose::STANDARD.encode(&w.ec.public_pem)
    );
    std::fs::write(w.env.path("cip-4.21.yaml"), policy).unwrap();
    let r = w.pack(
        "c.tar.zst",
        &[
            "--cluster-image-policy",
            "cip-4.21.yaml",
            "--sigstore-components",
            "--components-repo",
            &art_dev,
        ],
        &[w.pullspec(&release)],
    );
    r.code(0)
        .stderr_has(
            "sigstore: 3 .sig artifact(s) carried; 0 image(s) nodes check without one; 1 other image(s) without one",
        )
        .stderr_has("(image component-002): no-signature");
    let m = sigbundle::unpack::read_manifest_unverified(&w.env.path("c.tar.zst")).unwrap();
    let carried: Vec<_> = m.sigstore.iter().filter_map(|e| e.image.component.clone()).collect();
    assert_eq!(carried, ["component-000", "component-001"]);
    assert!(m
        .sigstore
        .iter()
        .filter(|e| e.image.component.is_some())
        .all(|e| e.image.repository == RH_ART_DEV && !e.image.required));
    // The policy file alone (its own key, the ECDSA one) does not accept the RSA signatures.
    w.env
        .run(
            "pack",
            &[
                "--insecure-registry",
                &w.src.host,
                "--store",
                "store",
                "--keyring",
                w.gpg.public.to_str().unwrap(),
                "--no-sign",
                "--sigstore",
                "--cluster-image-policy",
                "cip-4.21.yaml",
                "-o",
                "f.tar.zst",
                &w.pullspec(&release),
            ],
        )
        .code(1)
        .stderr_has("(bad-signature");

    // The list from a file instead (--image-references), the same outcome.
    std::fs::write(w.env.path("refs.json"), &refs).unwrap();
    let r2 = w.pack(
        "e.tar.zst",
        &[
            "--cluster-image-policy",
            "cip-4.21.yaml",
            "--sigstore-components",
            "--image-references",
            "refs.json",
            "--components-repo",
            &art_dev,
        ],
        &[w.pullspec(&release)],
    );
    r2.code(0);
    let m2 = sigbundle::unpack::read_manifest_unverified(&w.env.path("e.tar.zst")).unwrap();
    assert_eq!(m2.sigstore, m.sigstore);
    // A list file is one release's: with two releases it is a usage error.
    let other = w.release("4.99.6-x86_64", "amd64");
    w.pack(
        "g.tar.zst",
        &["--sigstore-components", "--image-references", "refs.json"],
        &[w.pullspec(&release), w.pullspec(&other)],
    )
    .code(2)
    .stderr_has("--image-references lists the components of one release; 2 releases were asked for");
    assert!(!w.env.path("g.tar.zst").exists());

    // Pushed: the release's .sig to ocp/release, the components' to ocp/art-dev.
    w.mirror.copy_image_from(&w.src, "src/release", "ocp/release", &release);
    let to = format!("{}/ocp/release", w.mirror.host);
    let comps_to = format!("{}/ocp/art-dev", w.mirror.host);
    w.unpack(
        "push",
        "c.tar.zst",
        &[
            "--to",
            &to,
            "--components-to",
            &comps_to,
            "--insecure-registry",
            &w.mirror.host,
        ],
    )
    .code(0)
    .stderr_has("pushed 3 .sig artifact(s): 3 written")
    .stderr_has("do not hold the image itself");
    verify_read_back(&w.mirror, "ocp/release", &release, &w.rsa.public_pem, RH_RELEASE).unwrap();
    for (_, d) in &comps[..2] {
        verify_read_back(&w.mirror, "ocp/art-dev", d, &w.rsa.public_pem, RH_ART_DEV).unwrap();
    }
    assert_eq!(w.mirror.get_manifest("ocp/art-dev", &sig_tag(&comps[2].1)).0, 404);

    // By the cluster's ImageDigestMirrorSet, as oc-mirror writes it: each to its source's
    // mirror, here another repository pair.
    let idms = format!(
        "---\napiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nmetadata:\n  name: idms-release-0\nspec:\n  imageDigestMirrors:\n  - mirrors:\n    - {h}/idms/release\n    source: {RH_RELEASE}\n  - mirrors:\n    - {h}/idms/art-dev\n    source: {RH_ART_DEV}\n",
        h = w.mirror.host
    );
    std::fs::write(w.env.path("idms.yaml"), idms).unwrap();
    w.unpack(
        "push",
        "c.tar.zst",
        &["--idms", "idms.yaml", "--insecure-registry", &w.mirror.host],
    )
    .code(0)
    .stderr_has("pushed 3 .sig artifact(s): 3 written");
    verify_read_back(&w.mirror, "idms/release", &release, &w.rsa.public_pem, RH_RELEASE).unwrap();
    verify_read_back(&w.mirror, "idms/art-dev", &comps[0].1, &w.rsa.public_pem, RH_ART_DEV).unwrap();
    // A destination that cannot be reached: the others are still pushed, the run ends with
    // exit 2, and the audit record says what was done where.
    let to = format!("{}/partial/release", w.mirror.host);
    w.unpack(
        "push",
        "c.tar.zst",
        &[
            "--to",
            &to,
            "--components-to",
            "127.0.0.1:1/partial/art-dev",
            "--insecure-registry",
            &w.mirror.host,
            "--insecure-registry",
            "127.0.0.1:1",
            "--retries",
            "0",
        ],
    )
    .code(2)
    .stderr_has("2 of 3 .sig artifact(s) not pushed");
    verify_read_back(&w.mirror, "partial/release", &release, &w.rsa.public_pem, RH_RELEASE).unwrap();
    let last = w.env.audit_records().pop().unwrap();
    assert_eq!(last["action"], "push");
    assert_eq!(last["outcome"], "failed");
    let done = last["destination"]["artifacts"].as_array().unwrap();
    assert_eq!(done.len(), 1, "{last}");
    assert_eq!(done[0]["digest"], release);
    assert_eq!(done[0]["done"], true);

    // An IDMS without a mirror for the components: refused before anything is pushed.
    std::fs::write(
        w.env.path("idms-release-only.yaml"),
        format!(
            "apiVersion: config.openshift.io/v1\nkind: ImageDigestMirrorSet\nspec:\n  imageDigestMirrors:\n  - mirrors:\n    - {}/other/release\n    source: {RH_RELEASE}\n",
            w.mirror.host
        ),
    )
    .unwrap();
    w.unpack(
        "push",
        "c.tar.zst",
        &[
            "--idms",
            "idms-release-only.yaml",
            "--insecure-registry",
            &w.mirror.host,
        ],
    )
    .code(2)
    .stderr_has(&format!("no ImageDigestMirrorSet entry mirrors {RH_ART_DEV}"));
    assert!(w.mirror.tags("other/release").is_empty());
}

#[test]
fn hostile_sigs_are_refused_by_name_and_nothing_is_pushed() {
    use base64::Engine;
    let w = World::new();
    let good = w.release("4.99.10-x86_64", "amd64");
    w.sign(&w.rsa, &good, "4.99.10-x86_64");
    let mut cases: Vec<(&str, String, &str)> = Vec::new();

    // The payload names another digest.
    let d = w.release("4.99.11-x86_64", "amd64");
    let art = w.rsa.artifact(&format!("{RH_RELEASE}:4.99.11-x86_64"), &good);
    w.src.push_sig("src/release", &d, &art);
    cases.push(("another digest", d, "digest-mismatch"));

    // A key nodes do not trust.
    let d = w.release("4.99.12-x86_64", "amd64");
    w.sign(&CosignKey::ecdsa_p256(), &d, "4.99.12-x86_64");
    cases.push(("wrong key", d, "bad-signature"));

    // One bit of the annotation's signature flipped.
    let d = w.release("4.99.13-x86_64", "amd64");
    let p = cosign::payload(&format!("{RH_RELEASE}:4.99.13-x86_64"), &d);
    let mut sig = w.rsa.sign(&p);
    sig[100] ^= 0x01;
    w.src.push_sig("src/release", &d, &SigArtifact::new(p, &sig));
    cases.push(("flipped bit", d, "bad-signature"));

    // A Docker media type for the .sig manifest.
    let d = w.release("4.99.14-x86_64", "amd64");
    let p = cosign::payload(&format!("{RH_RELEASE}:4.99.14-x86_64"), &d);
    let b64 = base64::engine::general_purpose::STANDARD.encode(w.rsa.sign(&p));
    let docker = SigArtifact::with_annotation(p, &b64, "application/vnd.docker.distribution.manifest.v2+json");
    w.src.push_sig("src/release", &d, &docker);
    cases.push(("docker media type", d, "wrong-media-type"));

    // A payload over the 4 MiB a node reads.
    let d = w.release("4.99.15-x86_64", "amd64");
    let big = format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{RH_RELEASE}:4.99.15-x86_64"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature"}},"optional":{{"pad":"{}"}}}}"#,
        "x".repeat(5 << 20)
    )
    .into_bytes();
    let sig = w.rsa.sign(&big);
    w.src.push_sig("src/release", &d, &SigArtifact::new(big, &sig));
    cases.push(("over the size cap", d, "too-large"));

    // Each alone: refused by name, no bundle.
    for (what, d, verdict) in &cases {
        let out = format!("{verdict}.tar.zst");
        w.pack(&out, &[], &[w.pullspec(d)])
            .code(1)
            .stderr_has(&format!("{RH_RELEASE}@{d} ({verdict}"));
        assert!(!w.env.path(&out).exists(), "{what}: no bundle");
    }
    // With --allow-missing beside a good one: only the good one is carried and pushed.
    let mut all = vec![w.pullspec(&good)];
    all.extend(cases.iter().map(|(_, d, _)| w.pullspec(d)));
    w.pack("h.tar.zst", &["--allow-missing"], &all).code(0);
    let m = sigbundle::unpack::read_manifest_unverified(&w.env.path("h.tar.zst")).unwrap();
    assert_eq!(m.sigstore.len(), 1);
    for (what, d, verdict) in &cases {
        let miss = m
            .sigstore_missing
            .iter()
            .find(|s| &s.image.digest.to_string() == d)
            .unwrap();
        assert_eq!(&miss.verdict, verdict, "{what}");
    }
    let to = format!("{}/ocp/release", w.mirror.host);
    w.unpack(
        "push",
        "h.tar.zst",
        &["--to", &to, "--insecure-registry", &w.mirror.host],
    )
    .code(0)
    .stderr_has("pushed 1 .sig artifact(s)");
    assert_eq!(w.mirror.tags("ocp/release"), vec![sig_tag(&good)]);

    // A component list of 10,000 images: refused before any is looked at.
    let many: Vec<(String, String)> = (0..10_000)
        .map(|i| (format!("c{i}"), format!("sha256:{:064x}", i)))
        .collect();
    std::fs::write(w.env.path("many.json"), image_references(RH_ART_DEV, &many)).unwrap();
    w.pack(
        "many.tar.zst",
        &["--sigstore-components", "--image-references", "many.json"],
        &[w.pullspec(&good)],
    )
    .code(1)
    .stderr_has("names 10000 component images, over the limit of 1000");
    assert!(!w.env.path("many.tar.zst").exists());

    // A payload swapped after packing, everything around it rewritten to match and the
    // manifest signed again with the packer's own key: the bundle is refused on the
    // sigstore signature, and nothing is pushed.
    let (key, public) = w.env.packer_key("packer");
    w.env
        .run(
            "pack",
            &[
                "--insecure-registry",
                &w.src.host,
                "--store",
                "store",
                "--keyring",
                w.gpg.public.to_str().unwrap(),
                "--sign-key",
                key.to_str().unwrap(),
                "--compression",
                "none",
                "--sigstore",
                "--sigstore-key",
                "rsa.pub",
                "-o",
                "s.tar",
                &w.pullspec(&good),
            ],
        )
        .code(0);
    let tampered = swap_payload(&std::fs::read(w.env.path("s.tar")).unwrap(), &key, &good);
    std::fs::write(w.env.path("t.tar"), tampered).unwrap();
    let mirror2 = format!("{}/swapped/release", w.mirror.host);
    let pk = public.to_str().unwrap();
    let r = w.env.run(
        "unpack",
        &[
            "push",
            "t.tar",
            "--packer-key",
            pk,
            "--keyring",
            w.gpg.public.to_str().unwrap(),
            "--sigstore-key",
            "rsa.pub",
            "--to",
            &mirror2,
            "--insecure-registry",
            &w.mirror.host,
        ],
    );
    r.code(1).stderr_has(&format!(
        "sigstore signature of {RH_RELEASE}@{good} is not accepted: bad-signature"
    ));
    assert!(w.mirror.tags("swapped/release").is_empty());
    let recs = w.env.audit_records();
    assert!(recs.iter().any(|r| r["action"] == "push" && r["outcome"] == "refused"));
}

/// `signed_tar` (an uncompressed bundle signed with `key`) with the payload of `digest`'s
/// `.sig` replaced by another that names the same digest, the `.sig` manifest, OCI layout and
/// bundle manifest rewritten around it, and the manifest signed again with `key`.
fn swap_payload(signed_tar: &[u8], key: &std::path::Path, digest: &str) -> Vec<u8> {
    let mut members = common::tar_members(signed_tar);
    let mut manifest = sigbundle::manifest::Manifest::parse(&members.remove(0).1).unwrap();
    members.remove(0); // the old packer signature
    let entry = manifest
        .sigstore
        .iter_mut()
        .find(|e| e.image.digest.to_string() == digest)
        .unwrap();
    let blob = |members: &[(String, Vec<u8>)], d: &str| {
        members
            .iter()
            .find(|m| m.0 == format!("sigstore/blobs/sha256/{}", &d[7..]))
            .unwrap()
            .1
            .clone()
    };
    let old_manifest = blob(&members, &entry.signature);
    let old_payload_digest = entry.layers[0].clone();
    let new_payload = cosign::payload(&format!("{RH_RELEASE}:evil"), digest);
    let new_payload_digest = cosign::sha256(&new_payload);
    let new_manifest = String::from_utf8(old_manifest)
        .unwrap()
        .replace(&old_payload_digest, &new_payload_digest)
        .into_bytes();
    let art = sigbundle::carry::Artifact {
        manifest: new_manifest.clone(),
        media_type: entry.media_type.clone(),
        blobs: [
            (new_payload_digest.clone(), new_payload.clone()),
            (
                entry.config.clone().unwrap(),
                blob(&members, entry.config.as_deref().unwrap()),
            ),
        ]
        .into_iter()
        .collect(),
    };
    entry.signature = cosign::sha256(&new_manifest);
    entry.layers = vec![new_payload_digest];
    members.retain(|m| !m.0.starts_with("sigstore/"));
    members.extend(sigbundle::carry::layout_files(&manifest.sigstore, &[&art]));
    members.sort_by(|a, b| a.0.cmp(&b.0));
    manifest.members.retain(|m| !m.path.starts_with("sigstore/"));
    for (p, b) in members.iter().filter(|m| m.0.starts_with("sigstore/")) {
        manifest.members.push(sigbundle::manifest::Member {
            path: p.clone(),
            size: b.len() as u64,
            sha256: cosign::sha256(b)[7..].to_string(),
        });
    }
    manifest.members.sort_by(|a, b| a.path.cmp(&b.path));
    let bytes = manifest.to_bytes();
    let signer = sigbundle::packer_key::PackerSigner::from_file(key, None).unwrap();
    let sig = signer.sign_detached(&bytes, std::time::SystemTime::now()).unwrap();
    sigbundle::bundle::write_bundle(
        Vec::new(),
        sigbundle::bundle::Compression::None,
        0,
        &bytes,
        Some(&sig),
        &members,
    )
    .unwrap()
}

#[test]
fn the_test_signer_writes_what_containers_image_writes() {
    // The real artifacts containers/image wrote: the same payload and signature give the same
    // config and manifest bytes from the test signer.
    let dir = common::fixture("sigstore/example-sig-artifact");
    for d in [
        "856dce733e1320708609328a90aa4d34124f06dd0c7138810185e5f67829a8d9",
        "ad1ff174817401a055a5ed260ff28e5a89a99e55f6bdbe3c9e7fe15982421db3",
    ] {
        let read = |ext: &str| std::fs::read(dir.join(format!("{d}.{ext}"))).unwrap();
        let art = SigArtifact::new(read("payload"), &read("sigbin"));
        assert_eq!(art.config, read("config"), "{d} config");
        assert_eq!(art.manifest, read("sig.manifest"), "{d} manifest");
    }
    // And what it signs verifies with the independent check's own code path (openssl).
    let k = CosignKey::rsa4096();
    let p = cosign::payload("quay.io/openshift-release-dev/ocp-release:4.99.0-x86_64", "sha256:00");
    let sig = k.sign(&p);
    assert_eq!(sig.len(), 512, "RSA-4096 PKCS#1 v1.5");
}

#[test]
fn sigbundle_agrees_with_the_recorded_node_verdicts() {
    use sigbundle::sigstore::{PublicKey, SignedIdentity, Trust};
    let dir = common::fixture("sigstore/node-verdicts");
    let key = |f: &str| PublicKey::from_pem(&std::fs::read(dir.join(f)).unwrap()).unwrap();
    let trust = Trust::new(
        vec![key("rsa4096.pub"), key("ec-p256.pub")],
        SignedIdentity::MatchRepoDigestOrExact,
    )
    .unwrap();
    let mut seen = 0;
    for case in std::fs::read_dir(&dir).unwrap() {
        let case = case.unwrap().path();
        if !case.is_dir() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(case.join("verdict.json")).unwrap()).unwrap();
        let (repo, pulled) = v["pulled"].as_str().unwrap().split_once('@').unwrap();
        let digest = sigbundle::digest::Digest::parse(v["image_digest"].as_str().unwrap()).unwrap();
        let pulled = sigbundle::digest::Digest::parse(pulled).unwrap();
        let art = std::fs::read(case.join("sig.manifest")).ok().map(|manifest| {
            let blobs = std::fs::read_dir(&case)
                .unwrap()
                .map(|f| f.unwrap().path())
                .filter(|p| p.file_name().unwrap().len() == 64)
                .map(|p| {
                    let name = p.file_name().unwrap().to_str().unwrap().to_string();
                    (format!("sha256:{name}"), std::fs::read(&p).unwrap())
                })
                .collect();
            sigbundle::carry::Artifact {
                manifest,
                media_type: v["sig_content_type"].as_str().unwrap().to_string(),
                blobs,
            }
        });
        let report = sigbundle::carry::judge(art.as_ref(), &Default::default(), repo, &pulled, &digest, &trust);
        let node_accepts = v["node_verdict"] == "ACCEPT";
        assert_eq!(
            report.verdict.is_valid(),
            node_accepts,
            "{}: sigbundle {} ({}), node {}",
            case.display(),
            report.verdict,
            report.reason,
            v["node_verdict"]
        );
        if !node_accepts {
            assert!(
                v["note"].as_str().unwrap().contains(&report.reason),
                "{}: {}",
                case.display(),
                report.reason
            );
        }
        seen += 1;
    }
    assert_eq!(seen, 8);
}

#[test]
fn pack_and_push_through_registries_behind_basic_auth() {
    use base64::Engine;
    let env = Env::new();
    let gpg = GpgSigner::new(&env);
    let key = CosignKey::ecdsa_p256();
    key.write_public(&env.path("ec.pub"));
    let src = RegistryProcess::start(Some(("puller", "hunter2")));
    let mirror = RegistryProcess::start(Some(("pusher", "s3cret")));
    let auth = Some("puller:hunter2");
    let (_, d) = src.push_image("src/release", "4.99.20-x86_64", "amd64-auth", auth);
    gpg.sign_into(&env.path("store"), &d, 1, &format!("{RH_RELEASE}:4.99.20-x86_64"));
    let art = key.artifact(&format!("{RH_RELEASE}:4.99.20-x86_64"), &d);
    src.push_blob("src/release", &art.config, auth);
    src.push_blob("src/release", &art.payload, auth);
    src.push_manifest("src/release", &sig_tag(&d), cosign::OCI_MANIFEST, &art.manifest, auth);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    std::fs::write(
        env.path("auth.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}},"{}":{{"auth":"{}"}}}}}}"#,
            src.host,
            b64("puller:hunter2"),
            mirror.host,
            b64("pusher:s3cret")
        ),
    )
    .unwrap();
    let nohome = env.path("nohome");
    let nohome = nohome.to_str().unwrap();
    let keyring = gpg.public.to_str().unwrap();
    let ps = format!("{}/src/release@{d}", src.host);
    let pack = |extra: &[&str]| {
        let mut a = vec![
            "--insecure-registry",
            src.host.as_str(),
            "--store",
            "store",
            "--keyring",
            keyring,
            "--no-sign",
            "--sigstore",
            "--sigstore-key",
            "ec.pub",
            "-o",
            "a.tar.zst",
        ];
        a.extend(extra);
        a.push(&ps);
        env.run_env("pack", &a, &[("HOME", nohome)])
    };
    pack(&[]).code(2).stderr_has("HTTP 401");
    assert!(!env.path("a.tar.zst").exists());
    pack(&["--authfile", "auth.json"]).code(0);

    let to = format!("{}/ocp/release", mirror.host);
    let push = |extra: &[&str]| {
        let mut a = vec![
            "push",
            "a.tar.zst",
            "--allow-unsigned",
            "--keyring",
            keyring,
            "--sigstore-key",
            "ec.pub",
            "--to",
            to.as_str(),
            "--insecure-registry",
            mirror.host.as_str(),
        ];
        a.extend(extra);
        env.run_env("unpack", &a, &[("HOME", nohome)])
    };
    push(&[]).code(2).stderr_has("HTTP 401");
    push(&["--authfile", "auth.json"])
        .code(0)
        .stderr_has("pushed 1 .sig artifact(s): 1 written");
    let (status, _, body) = common::http(
        &mirror.host,
        "GET",
        &format!("/v2/ocp/release/manifests/{}", sig_tag(&d)),
        &[("Accept", cosign::OCI_MANIFEST)],
        b"",
        Some("pusher:s3cret"),
    );
    assert_eq!(status, 200);
    assert_eq!(body, art.manifest);
}
