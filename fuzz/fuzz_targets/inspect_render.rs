//! Fuzz `unpack inspect`'s renderer: any manifest the decoder builds, checked or not (inspect
//! shows what a bundle claims), must render without a panic, and the text must hold nothing
//! that acts on a terminal once the binaries' last escape (`terminal_safe`) has run — and
//! nothing at all of that kind from the renderer's own escaping of the fields.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sigbundle::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let _ = Manifest::parse(data);
    let Ok(m) = serde_json::from_slice::<Manifest>(data) else {
        return;
    };
    let shown = sigbundle_cli::render::claims(std::path::Path::new("fuzz.tar"), &m, &[]);
    assert!(
        !shown.chars().any(|c| c != '\n' && sigbundle::text::is_unsafe_char(c)),
        "the renderer let a control, bidirectional or invisible character through"
    );
    assert_eq!(sigbundle::text::terminal_safe(&shown), shown);
});
