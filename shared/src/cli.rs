//! What both binaries share: printing an error chain once, the exit code it maps to, and how
//! the terminal may be used (colour only on a terminal and without `NO_COLOR`, progress bars
//! only on a terminal).

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::bundle::BundleError;
use crate::error::{Error, ExitClass};
use crate::unpack::UnpackError;

/// Whether stderr may carry progress bars.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Whether output may be coloured: a terminal, and `NO_COLOR` unset or empty.
pub fn color_enabled() -> bool {
    stderr_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The problems a rejected bundle had, when `err` is that.
pub fn rejected_problems(err: &Error) -> Option<&[crate::bundle::Problem]> {
    match err {
        Error::Unpack(UnpackError::Bundle {
            source: BundleError::Rejected { problems, .. },
            ..
        }) => Some(problems),
        _ => None,
    }
}

/// Whether an unpack failure is the bundle's fault (a refusal worth an audit record).
pub fn is_rejection(err: &UnpackError) -> bool {
    matches!(
        err,
        UnpackError::Bundle {
            source: BundleError::Rejected { .. },
            ..
        }
    )
}

/// How many problems of a rejected bundle the problems not kept.
pub fn more_problems(err: &Error) -> u64 {
    match err {
        Error::Unpack(UnpackError::Bundle {
            source: BundleError::Rejected { more_problems, .. },
            ..
        }) => *more_problems,
        _ => 0,
    }
}

/// Print `err` and its sources on stderr as one `error:` line (plus one line per problem of a
/// rejected bundle, the first ones and a count of the rest), and return the documented exit
/// code. Everything printed goes through [`crate::text::terminal_safe`]: errors quote names and
/// texts from files, and the dependencies' errors (tar's, serde's) do too.
pub fn report(program: &str, err: &Error) -> ExitCode {
    use std::io::Write as _;
    let (red, reset) = if color_enabled() {
        ("\x1b[31m", "\x1b[0m")
    } else {
        ("", "")
    };
    let mut text = format!(
        "{program}: {red}error{reset}: {}\n",
        crate::text::terminal_safe(&crate::text::error_chain(err))
    );
    if let Some(problems) = rejected_problems(err) {
        let more = more_problems(err);
        if problems.len() > 1 || more > 0 {
            for p in problems {
                text.push_str(&format!("  - {}\n", crate::text::terminal_safe(&p.to_string())));
            }
        }
        if more > 0 {
            text.push_str(&format!("  … and {more} more problem(s), not listed\n"));
        }
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
    exit(err.exit_class())
}

/// A JSON document on stdout, pretty-printed, with DEL, C1 controls and bidirectional or
/// invisible characters written as `\u` escapes (serde_json escapes only C0 controls).
pub fn print_json<T: serde::Serialize + ?Sized>(v: &T) {
    println!(
        "{}",
        crate::text::json_terminal_safe(serde_json::to_string_pretty(v).expect("serializes"))
    );
}

/// The process exit code of a class.
pub fn exit(class: ExitClass) -> ExitCode {
    ExitCode::from(class.code())
}
