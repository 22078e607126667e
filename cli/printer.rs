//! How output reaches the user: data on stdout, messages on stderr, every character that could
//! act on a terminal escaped (names and texts from bundles, manifests, logs and receipts are
//! printed), colour only on a terminal without `NO_COLOR`, progress only on a terminal, and a
//! closed stdout ending the command quietly.

use std::io::{IsTerminal, Write};

use sigbundle::error::Error;
use sigbundle::text::{json_terminal_safe, terminal_safe};

/// A line on stdout, escaped by [`terminal_safe`].
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{
        let line = format!($($t)*);
        println!("{}", sigbundle::text::terminal_safe(&line));
    }};
}

/// A line on stderr, escaped as [`outln`] escapes.
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => {{
        let line = format!($($t)*);
        eprintln!("{}", sigbundle::text::terminal_safe(&line));
    }};
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

/// Text on stdout in one write (a line-buffered `println!` per release made 10,000 system
/// calls), escaped for the terminal.
pub fn write_text(text: &str) -> Result<(), Error> {
    write_stdout(terminal_safe(text).as_bytes())
}

/// Bytes on stdout in one write (also the bare signature of `emit --signature`).
pub fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(|e| Error::Usage(format!("cannot write to stdout: {e}")))
}

/// A JSON document on stdout, pretty-printed, with DEL, C1 controls and bidirectional or
/// invisible characters written as `\u` escapes (serde_json escapes only C0 controls).
pub fn print_json<T: serde::Serialize + ?Sized>(v: &T) {
    println!(
        "{}",
        json_terminal_safe(serde_json::to_string_pretty(v).expect("a document serializes"))
    );
}
