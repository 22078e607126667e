//! The one exit policy of both binaries: 0 ok, 1 verification failed, 2 usage or I/O error. A
//! command returns how it ended ([`Outcome`]) or a library error, which knows its own class
//! ([`sigbundle::error::Error::exit_class`]); [`finish`] says the error once and exits.

use std::io::Write;
use std::process::ExitCode;

use sigbundle::error::{Error, ExitClass};
use sigbundle::text::{error_chain, terminal_safe};

use crate::printer::color_enabled;

/// How a command ended when it did not fail with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked was done and verified.
    Success,
    /// The command ran to its end and reported why something does not verify (an `apply`
    /// conflict, a broken audit chain, a receipt that does not match): exit 1.
    VerificationFailed,
}

/// What a command returns.
pub type CommandResult = Result<Outcome, Error>;

/// The process exit code of a class.
fn code(class: ExitClass) -> ExitCode {
    ExitCode::from(class.code())
}

/// Say an error (if any) and return the exit code.
pub fn finish(program: &str, result: CommandResult) -> ExitCode {
    // A report that could not be written (other than to a reader who closed the pipe) fails
    // a command that otherwise succeeded.
    let result = match (result, crate::printer::stdout_failure()) {
        (Ok(Outcome::Success), Some(e)) => Err(e),
        (result, _) => result,
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::VerificationFailed) => code(ExitClass::Verification),
        Err(e) => {
            report(program, &e);
            code(e.exit_class())
        }
    }
}

/// `err` and its sources on stderr as one `error:` line (plus one line per problem of a refused
/// bundle, the first ones and a count of the rest); a record the audit log could not take is
/// said after it. Everything goes through [`terminal_safe`]: errors quote names and texts from
/// files, and the dependencies' errors (tar's, serde's) do too.
pub fn report(program: &str, err: &Error) {
    let (red, reset) = if color_enabled() {
        ("\x1b[31m", "\x1b[0m")
    } else {
        ("", "")
    };
    let shown = match err {
        Error::NotRecorded { error, .. } => error.as_ref(),
        other => other,
    };
    let mut text = format!("{program}: {red}error{reset}: {}\n", terminal_safe(&error_chain(shown)));
    if let Some((problems, more)) = err.rejection() {
        if problems.len() > 1 || more > 0 {
            for p in problems {
                text.push_str(&format!("  - {}\n", terminal_safe(&p.to_string())));
            }
        }
        if more > 0 {
            text.push_str(&format!("  … and {more} more problem(s), not listed\n"));
        }
    }
    if let Error::NotRecorded { audit, .. } = err {
        text.push_str(&format!(
            "{program}: warning: the failure could not be recorded in the audit log: {}\n",
            terminal_safe(&audit.to_string())
        ));
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
