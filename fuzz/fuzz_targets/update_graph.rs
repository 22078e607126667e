//! Fuzz the update-service graph parser and the channel range selection.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let min = semver_like("4.13.0");
    // As read from the update service, and as a saved file (whose nodes must list the channel).
    let _ = sigbundle::graph::select_nodes(data, "stable-4.13", "fuzz", false, min.as_ref(), None);
    let _ = sigbundle::graph::select_nodes(data, "stable-4.13", "fuzz", true, None, None);
});

fn semver_like(s: &str) -> Option<sigbundle::resolve::Version> {
    sigbundle::resolve::Version::parse(s).ok()
}
