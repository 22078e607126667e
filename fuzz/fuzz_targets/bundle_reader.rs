//! Fuzz the bundle reader: any bytes must give a verdict (a verified bundle or a list of
//! problems), never a panic, a hang or unbounded memory.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sigbundle::bundle::{read_bundle, CheckOptions, Limits};
use sigbundle::keyring::Keyring;

static RING: std::sync::OnceLock<Keyring> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let opts = CheckOptions {
        packer_keys: None,
        allow_unsigned: true,
        release_keys: RING.get_or_init(Keyring::default_release).clone(),
        now: std::time::SystemTime::now(),
        limits: Limits { max_total: 8 << 20, ..Limits::default() },
        keep_bodies: true,
    };
    let _ = read_bundle(data, &opts, None);
});
