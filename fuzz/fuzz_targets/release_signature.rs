//! Fuzz release-signature verification (OpenPGP framing, decompression, payload rules).
#![no_main]
use libfuzzer_sys::fuzz_target;
use sigbundle::digest::Digest;
use sigbundle::verify::trust::ReleaseTrust;

static RING: std::sync::OnceLock<ReleaseTrust> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let ring = RING.get_or_init(ReleaseTrust::default_release);
    let d = Digest::of(b"fuzz");
    let _ = sigbundle::verify::verify_release_signature(ring, &d, data, std::time::SystemTime::now(), false);
});
