//! Fuzz the manifest parser and its consistency checks.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sigbundle::manifest::Manifest::parse(data);
});
