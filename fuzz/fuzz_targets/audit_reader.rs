//! Fuzz the audit log readers: any log text (the log is anyone's who can write the file) must
//! parse, check and list without a panic, the listing must hold nothing that acts on a
//! terminal, and the readiness check that runs before every step must answer without a panic.
#![no_main]
use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sigbundle::audit::{check_chain, parse_records, AuditLog};
use sigbundle_cli::render::audit_records as render_records;

fuzz_target!(|data: &[u8]| {
    let _ = check_chain(Cursor::new(data), Some("5a1e"));
    if let Ok(records) = parse_records(Cursor::new(data), Path::new("fuzz.log")) {
        for by_release in [false, true] {
            let shown = render_records(&records, by_release);
            assert!(
                !shown.chars().any(|c| c != '\n' && sigbundle::text::is_unsafe_char(c)),
                "the listing let a control, bidirectional or invisible character through"
            );
        }
        let _ = serde_json::to_string(&records);
    }
    // The readiness check and the append read the log's last line from the end.
    let path = std::env::temp_dir().join(format!("sigbundle-fuzz-audit-{}.log", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let log = AuditLog::new(path);
    let _ = log.ready();
    let _ = log.check(None);
});
