//! Interoperability with the real GnuPG: a release signature made by `gpg --sign` verifies in
//! sigbundle, and sigbundle's packer signatures verify with `gpg --verify` (and a tampered
//! manifest fails there).

mod common;

use common::*;

fn gpg_home(env: &Env) -> std::path::PathBuf {
    let home = env.path("gnupg");
    std::fs::create_dir(&home).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    home
}

#[test]
fn gpg_signed_release_signature_verifies() {
    let env = Env::new();
    let home = gpg_home(&env);
    let o = gpg(
        &home,
        &[
            "--quick-gen-key",
            "Release Signer <rel@example.org>",
            "rsa3072",
            "sign",
            "never",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let hex = "4e".repeat(32);
    let payload = format!(
        r#"{{"critical": {{"type": "atomic container signature", "image": {{"docker-manifest-digest": "sha256:{hex}"}}, "identity": {{"docker-reference": "quay.io/example/release:1.0.0-x86_64"}}}}, "optional": {{"creator": "gpg test", "timestamp": 1700000000}}}}"#
    );
    std::fs::write(env.path("payload.json"), &payload).unwrap();
    let dir = env.path(&format!("store/sha256={hex}"));
    std::fs::create_dir_all(&dir).unwrap();
    let o = gpg(
        &home,
        &[
            "--sign",
            "--output",
            dir.join("signature-1").to_str().unwrap(),
            env.path("payload.json").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = gpg(
        &home,
        &[
            "--armor",
            "--export",
            "--output",
            env.path("release.asc").to_str().unwrap(),
        ],
    );
    assert!(o.status.success());

    let digest = format!("sha256:{hex}");
    env.run(
        "pack",
        &[
            "--store",
            "store",
            "--keyring",
            "release.asc",
            "--no-sign",
            "-o",
            "b.tar.zst",
            &digest,
        ],
    )
    .code(0);
    env.run(
        "unpack",
        &["verify", "b.tar.zst", "--allow-unsigned", "--keyring", "release.asc"],
    )
    .code(0)
    .stdout_has("quay.io/example/release:1.0.0-x86_64");
    // Under Red Hat's default keyring the same signature is from an untrusted signer.
    env.run("pack", &["--store", "store", "--no-sign", "-o", "c.tar.zst", &digest])
        .code(1)
        .stderr_has("untrusted-signer");
}

#[test]
fn packer_signature_verifies_with_gpg_and_tampering_fails() {
    let env = Env::new();
    let home = gpg_home(&env);
    let (key, public) = env.packer_key("ops");
    env.pack(Some(&key), "b.tar", "none", &[RH_4_15_0]).code(0);
    let members = tar_members(&std::fs::read(env.path("b.tar")).unwrap());
    std::fs::write(env.path("manifest.json"), &members[0].1).unwrap();
    std::fs::write(env.path("manifest.json.asc"), &members[1].1).unwrap();
    let o = gpg(&home, &["--import", public.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (m, s) = (env.path("manifest.json"), env.path("manifest.json.asc"));
    let o = gpg(&home, &["--verify", s.to_str().unwrap(), m.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "gpg --verify failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("Good signature"));

    let mut tampered = members[0].1.clone();
    let at = tampered.iter().position(|&b| b == b'7').unwrap();
    tampered[at] = b'8';
    std::fs::write(&m, tampered).unwrap();
    let o = gpg(&home, &["--verify", s.to_str().unwrap(), m.to_str().unwrap()]);
    assert!(!o.status.success(), "gpg accepted a tampered manifest");
    assert!(String::from_utf8_lossy(&o.stderr).contains("BAD signature"));
}

#[test]
fn passphrase_protected_packer_key_is_read_from_the_environment() {
    let env = Env::new();
    env.run_env(
        "pack",
        &["key", "generate", "--name", "locked", "-o", "locked"],
        &[("SIGBUNDLE_KEY_PASSPHRASE", "s3cret")],
    )
    .code(0);
    let secret = std::fs::read_to_string(env.path("locked.key")).unwrap();
    assert!(secret.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(env.path("locked.key")).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let store = fixture("stores/redhat");
    let args = [
        "--store",
        store.to_str().unwrap(),
        "--sign-key",
        "locked.key",
        "-o",
        "b.tar.zst",
        RH_4_15_0,
    ];
    env.run("pack", &args).code(2).stderr_has("SIGBUNDLE_KEY_PASSPHRASE");
    env.run_env("pack", &args, &[("SIGBUNDLE_KEY_PASSPHRASE", "wrong")])
        .code(2)
        .stderr_has("wrong passphrase");
    env.run_env("pack", &args, &[("SIGBUNDLE_KEY_PASSPHRASE", "s3cret")])
        .code(0);
    env.run("unpack", &["verify", "b.tar.zst", "--packer-key", "locked.pub.asc"])
        .code(0);
}

/// A packer signature GnuPG makes in text mode (`--textmode`, signature type 0x01) covers the
/// manifest with CR LF line endings, as OpenPGP specifies; sigbundle judges it the same way.
#[test]
fn a_text_mode_packer_signature_from_gpg_verifies() {
    let env = Env::new();
    let home = gpg_home(&env);
    let (key, public) = env.packer_key("ops");
    env.pack(Some(&key), "b.tar", "none", &[RH_4_15_0]).code(0);
    let mut members = tar_members(&std::fs::read(env.path("b.tar")).unwrap());
    let manifest = members.remove(0).1;
    members.remove(0);
    assert!(manifest.contains(&b'\n') && !manifest.contains(&b'\r'));
    std::fs::write(env.path("manifest.json"), &manifest).unwrap();
    let o = gpg(&home, &["--import", key.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (m, s) = (env.path("manifest.json"), env.path("manifest.json.asc"));
    let o = gpg(
        &home,
        &[
            "--textmode",
            "--detach-sign",
            "--armor",
            "--output",
            s.to_str().unwrap(),
            m.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sig = std::fs::read(&s).unwrap();
    let c = sigbundle::bundle::Compression::None;
    let bundle = sigbundle::bundle::write_bundle(Vec::new(), c, 0, &manifest, Some(&sig), &members).unwrap();
    std::fs::write(env.path("t.tar"), bundle).unwrap();
    env.run("unpack", &["verify", "t.tar", "--packer-key", public.to_str().unwrap()])
        .code(0)
        .stdout_has("signature verified");
}

/// `pack key generate` on a terminal without `SIGBUNDLE_KEY_PASSPHRASE` asks for a passphrase
/// twice (no echo), and `pack --sign-key` asks for it again; without a terminal the key is
/// written unprotected, with a warning that says so.
#[test]
fn a_terminal_is_asked_for_the_passphrase_and_an_unprotected_key_is_warned_about() {
    let env = Env::new();
    let shown = in_terminal_typing(&env, "pack", "key generate --name typed -o typed", "s3cret\ns3cret\n");
    assert!(
        shown.contains("Passphrase for the new packer key (empty for none):"),
        "{shown}"
    );
    assert!(shown.contains("EXIT=0"), "{shown}");
    assert!(!shown.contains("not protected"), "{shown}");
    let store = fixture("stores/redhat");
    let args = format!(
        "--store {} --sign-key typed.key -q -o b.tar.zst {RH_4_15_0}",
        store.display()
    );
    // Locked: without a terminal the environment is the only way in.
    let plain: Vec<String> = args.split(' ').map(str::to_string).collect();
    let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
    env.run("pack", &plain).code(2).stderr_has("protected by a passphrase");
    let shown = in_terminal_typing(&env, "pack", &args, "s3cret\n");
    assert!(shown.contains("Passphrase for typed.key:"), "{shown}");
    assert!(shown.contains("EXIT=0"), "{shown}");
    env.run("unpack", &["verify", "b.tar.zst", "--packer-key", "typed.pub.asc"])
        .code(0);

    let shown = in_terminal_typing(&env, "pack", "key generate --name typo -o typo", "one\ntwo\n");
    assert!(
        shown.contains("the two passphrases differ; no key was written"),
        "{shown}"
    );
    assert!(shown.contains("EXIT=2"), "{shown}");
    assert!(!env.path("typo.key").exists());

    env.run("pack", &["key", "generate", "--name", "open", "-o", "open"])
        .code(0)
        .stderr_has("warning: open.key is not protected by a passphrase");
}
