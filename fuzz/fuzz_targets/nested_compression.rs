//! Structure-aware fuzzing of nested OpenPGP compression: the input is a recipe that wraps a
//! valid release signature in layers of ZIP, ZLIB and BZIP2 packets, each framed with a definite,
//! partial or indeterminate length. The cluster's reader accepts up to 31 nested layers (its
//! packet reader holds at most 32 streams), so the verdict must be `valid` up to that depth and a
//! refusal beyond it; and no recipe may take more than a bounded amount of memory or time
//! (libFuzzer's `-rss_limit_mb` and `-timeout` watch that).
#![no_main]
use std::io::Write;
use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;
use sigbundle::digest::Digest;
use sigbundle::verify::trust::ReleaseTrust;

const DIGEST: &str = "sha256:0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363";
const KEY: &[u8] = include_bytes!("../../tests/fixtures/cvo-differential/keys/test.asc");
const BASES: [&[u8]; 3] = [
    include_bytes!("../../tests/fixtures/cvo-differential/stores/p00-good-zip/sha256=0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363/signature-1"),
    include_bytes!("../../tests/fixtures/cvo-differential/stores/p36-go-signed-good/sha256=0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363/signature-1"),
    include_bytes!("../../tests/fixtures/cvo-differential/stores/p02-good-bzip2/sha256=0da6316466d60a3a4535d5fed3589feb0391989982fba59d47d4c729912d6363/signature-1"),
];

static TRUST: std::sync::OnceLock<ReleaseTrust> = std::sync::OnceLock::new();

/// A compressed packet (tag 8) with `body` (algorithm byte included), framed as `framing` says.
fn frame(body: &[u8], framing: u8, chunk: u8) -> Vec<u8> {
    let mut out = Vec::new();
    match framing % 4 {
        0 => {
            out.extend_from_slice(&[0xc8, 0xff]);
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            out.extend_from_slice(body);
        }
        1 => {
            // Old format, four-octet length.
            out.push(0x80 | (8 << 2) | 2);
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            out.extend_from_slice(body);
        }
        2 => {
            // Old format, indeterminate length: the packet runs to the end of its stream.
            out.push(0x80 | (8 << 2) | 3);
            out.extend_from_slice(body);
        }
        _ => {
            // New format, partial lengths of 2^k bytes, then a final definite chunk.
            out.push(0xc8);
            let size = 1usize << (chunk % 10);
            let mut rest = body;
            while rest.len() > size {
                out.push(224 + (chunk % 10));
                out.extend_from_slice(&rest[..size]);
                rest = &rest[size..];
            }
            if rest.len() < 192 {
                out.push(rest.len() as u8);
            } else {
                out.push(255);
                out.extend_from_slice(&(rest.len() as u32).to_be_bytes());
            }
            out.extend_from_slice(rest);
        }
    }
    out
}

fn compress(inner: &[u8], algo: u8) -> Vec<u8> {
    match algo % 3 {
        0 => {
            let mut e = flate2::write::DeflateEncoder::new(vec![1u8], flate2::Compression::new(u32::from(algo % 10)));
            e.write_all(inner).unwrap();
            e.finish().unwrap()
        }
        1 => {
            let mut e = flate2::write::ZlibEncoder::new(vec![2u8], flate2::Compression::new(u32::from(algo % 10)));
            e.write_all(inner).unwrap();
            e.finish().unwrap()
        }
        _ => {
            let mut e = bzip2::write::BzEncoder::new(vec![3u8], bzip2::Compression::new(u32::from(algo % 9) + 1));
            e.write_all(inner).unwrap();
            e.finish().unwrap()
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&base, recipe)) = data.split_first() else {
        return;
    };
    let trust = TRUST.get_or_init(|| {
        let dir = std::env::temp_dir().join("sigbundle-fuzz-nested");
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("test.asc");
        std::fs::write(&key, KEY).unwrap();
        ReleaseTrust::from_files(&[key]).unwrap()
    });
    let mut message = BASES[usize::from(base) % BASES.len()].to_vec();
    let mut depth = 0usize;
    for step in recipe.chunks_exact(3).take(40) {
        message = frame(&compress(&message, step[0]), step[1], step[2]);
        depth += 1;
    }
    let d = Digest::parse(DIGEST).unwrap();
    let report = sigbundle::verify::verify_release_signature(trust, &d, &message, SystemTime::now(), false);
    // The base messages hold their own compressed layer (p00, p02) or none (p36).
    let own = usize::from(usize::from(base) % BASES.len() != 1);
    let expect_valid = depth + own <= 31;
    assert_eq!(
        report.verdict.is_valid(),
        expect_valid,
        "depth {depth} (+{own}): {}",
        report.verdict
    );
});
