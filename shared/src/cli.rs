//! What both binaries share: printing an error chain once, the exit code it maps to, and how
//! the terminal may be used (colour only on a terminal and without `NO_COLOR`, progress bars
//! only on a terminal).

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::bundle::BundleError;
use crate::unpack::UnpackError;
use crate::{Error, ExitClass};

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

/// Print `err` and its sources on stderr as one `error:` line (plus one line per problem of a
/// rejected bundle), and return the documented exit code.
pub fn report(program: &str, err: &Error) -> ExitCode {
    let (red, reset) = if color_enabled() {
        ("\x1b[31m", "\x1b[0m")
    } else {
        ("", "")
    };
    eprintln!("{program}: {red}error{reset}: {}", crate::error_chain(err));
    if let Some(problems) = rejected_problems(err) {
        if problems.len() > 1 {
            for p in problems {
                eprintln!("  - {p}");
            }
        }
    }
    exit(err.exit_class())
}

/// The process exit code of a class.
pub fn exit(class: ExitClass) -> ExitCode {
    ExitCode::from(class.code())
}
