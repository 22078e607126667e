//! Fuzz the update-service graph parser and the channel range selection.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let min = semver_like("4.13.0");
    let _ = sigbundle::resolve::select_nodes(data, "stable-4.13", "fuzz", min.as_ref(), None);
    let _ = sigbundle::resolve::select_nodes(data, "stable-4.13", "fuzz", None, None);
});

fn semver_like(s: &str) -> Option<sigbundle::resolve::Version> {
    sigbundle::resolve::Version::parse(s).ok()
}
