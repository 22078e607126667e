//! The exit classes every error of the library belongs to (a leaf, so that each concern's error
//! can name its class without importing the umbrella [`crate::error::Error`]).

/// What a failure means for the process: the binaries turn this into their exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    /// Something did not verify: a signature, a bundle, a digest (exit 1).
    Verification,
    /// Bad usage, or an I/O or network failure (exit 2).
    UsageOrIo,
}

impl ExitClass {
    /// The documented exit code: 1 verification failed, 2 usage or I/O error.
    pub fn code(self) -> u8 {
        match self {
            ExitClass::Verification => 1,
            ExitClass::UsageOrIo => 2,
        }
    }
}
