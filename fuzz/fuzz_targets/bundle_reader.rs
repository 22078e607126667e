//! Fuzz the bundle reader: any bytes must give a verdict (a verified bundle or a list of
//! problems), never a panic, a hang or unbounded memory. The reader streams to a sink, as
//! `unpack emit --to-dir` does: a verified bundle must have handed each release with
//! signatures to it exactly once, with all its signatures.
#![no_main]
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use sigbundle::bundle::{read_bundle, CheckOptions, Limits, ReleaseSink};
use sigbundle::digest::Digest;
use sigbundle::verify::trust::ReleaseTrust;

static RING: std::sync::OnceLock<ReleaseTrust> = std::sync::OnceLock::new();

#[derive(Default)]
struct Seen(Mutex<Vec<(usize, Digest, usize)>>);

impl ReleaseSink for Seen {
    fn release(&self, index: usize, digest: &Digest, signatures: &[&[u8]]) {
        self.0.lock().unwrap().push((index, *digest, signatures.len()));
    }
}

fuzz_target!(|data: &[u8]| {
    let opts = CheckOptions {
        packer_keys: None,
        allow_unsigned: true,
        release_keys: RING.get_or_init(ReleaseTrust::default_release).clone(),
        strict: false,
        now: std::time::SystemTime::now(),
        limits: Limits {
            max_total: 8 << 20,
            ..Limits::default()
        },
        keep_bodies: true,
        progress: None,
        require_signers: 1,
    };
    let seen = Seen::default();
    if let Ok(b) = read_bundle(data, &opts, Some(&seen)) {
        let mut seen = seen.0.into_inner().unwrap();
        seen.sort_by_key(|s| s.0);
        let want: Vec<(usize, Digest, usize)> = b
            .releases
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.signatures.is_empty())
            .map(|(i, r)| (i, r.digest, r.signatures.len()))
            .collect();
        assert_eq!(seen, want, "the sink saw other releases than the bundle holds");
    }
});
