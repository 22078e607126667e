//! Signal dispositions both binaries set at start-up (the library forbids `unsafe`).

/// With a file-size limit (`ulimit -f`), exceeding it sends SIGXFSZ, which kills the process
/// without a word. Ignored, the write fails with EFBIG instead, and the error is reported (and
/// the temporary file removed) like any other full disk.
pub fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_IGN at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
