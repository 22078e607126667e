//! Fuzz the update-service graph parser, the channel range selection and the shortest update
//! path (`--from-isc` with `shortestPath`, and between channels).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let min = semver_like("4.13.0");
    // As read from the update service, and as a saved file (whose nodes must list the channel).
    let _ = sigbundle::graph::select_nodes(data, "stable-4.13", "fuzz", false, min.as_ref(), None);
    let _ = sigbundle::graph::select_nodes(data, "stable-4.13", "fuzz", true, None, None);
    if let (Some(from), Some(to)) = (semver_like("4.12.0"), semver_like("4.13.43")) {
        let _ = sigbundle::graph::shortest_path(data, "stable-4.13", "fuzz", false, &from, &to);
    }
});

fn semver_like(s: &str) -> Option<sigbundle::resolve::Version> {
    sigbundle::resolve::Version::parse(s).ok()
}
