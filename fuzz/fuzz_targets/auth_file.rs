//! Fuzz the auth-file (pull secret) parser and credential lookup.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = sigbundle::registry::AuthFile::parse(data, std::path::Path::new("auth.json")) {
        let _ = a.lookup("quay.io", "openshift-release-dev/ocp-release");
    }
});
