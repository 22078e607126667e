//! How output reaches the user: data on stdout, messages on stderr, every character that could
//! act on a terminal escaped (names and texts from bundles, manifests, logs and receipts are
//! printed), colour only on a terminal without `NO_COLOR`, progress only on a terminal, and a
//! closed stdout ending the command quietly.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use sigbundle::error::Error;
use sigbundle::text::{json_terminal_safe, terminal_safe};

/// A line of a report on stdout, escaped by [`terminal_safe`], written by [`report_bytes`].
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        let mut line = sigbundle::text::terminal_safe(&format!($($t)*)).into_owned();
        line.push('\n');
        $crate::printer::report_bytes(line.as_bytes());
    }};
}

/// A line on stderr, escaped as [`outln`] escapes; a closed stderr is not an error.
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => {{
        let mut line = sigbundle::text::terminal_safe(&format!($($t)*)).into_owned();
        line.push('\n');
        $crate::printer::message_bytes(line.as_bytes());
    }};
}

/// A reader that closed stdout (`| head`) has read all it wanted: the rest of the report is
/// dropped and the command ends with the outcome it reached, as `rg` does.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// Any other failure to write a report (a full disk behind `>`) is said once at exit, exit 2.
static STDOUT_FAILED: OnceLock<String> = OnceLock::new();

/// Report bytes on stdout in one write. A closed pipe ends the report quietly; another write
/// failure is kept for [`stdout_failure`]. Neither panics.
pub fn report_bytes(bytes: &[u8]) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) || STDOUT_FAILED.get().is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        } else {
            let _ = STDOUT_FAILED.set(format!("cannot write to stdout: {e}"));
        }
    }
}

/// Message bytes on stderr; nothing to do if stderr is gone.
pub fn message_bytes(bytes: &[u8]) {
    let _ = std::io::stderr().lock().write_all(bytes);
}

/// The failure to write a report on stdout, other than a reader closing it, if any.
pub fn stdout_failure() -> Option<Error> {
    STDOUT_FAILED.get().map(|m| Error::Usage(m.clone()))
}

/// Whether stderr may carry progress bars.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Whether stdout is a terminal (binary data must not go there).
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether output may be coloured: a terminal, and `NO_COLOR` unset or empty.
pub fn color_enabled() -> bool {
    stderr_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Report text on stdout in one write (a line-buffered `println!` per release made 10,000
/// system calls), escaped for the terminal.
pub fn write_text(text: &str) {
    report_bytes(terminal_safe(text).as_bytes());
}

/// The product itself on stdout (the bare signature of `emit --signature`): unlike a report,
/// every failure, a closed pipe too, is an error: the reader did not get it whole.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(|e| Error::Usage(format!("cannot write to stdout: {e}")))
}

/// A JSON document on stdout, pretty-printed, with DEL, C1 controls and bidirectional or
/// invisible characters written as `\u` escapes (serde_json escapes only C0 controls).
pub fn print_json<T: serde::Serialize + ?Sized>(v: &T) {
    let mut doc = json_terminal_safe(serde_json::to_string_pretty(v).expect("a document serializes"));
    doc.push('\n');
    report_bytes(doc.as_bytes());
}
