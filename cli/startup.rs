//! Process settings both binaries make at start-up (the library forbids `unsafe`; this layer
//! may use it for these three calls).

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

/// glibc's malloc raises its mmap threshold each time a large block is freed: after a big
/// bundle's manifest (19 MB of JSON for 10,000 releases) is freed, later large buffers come
/// from the heap and freed memory is kept. A fixed trim threshold keeps large blocks mapped
/// separately and gives freed heap back: `unpack verify` of 10,000 releases peaked at 67.4 MB
/// RSS before, 58 MB after (docs/benchmarks-history.md).
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called at start-up, before any thread.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TOP_PAD, 0);
    }
}

/// A panic is a bug, but its message may quote what it was reading (a name from a bundle, a
/// line of the audit log): print it with control, bidirectional and invisible characters
/// escaped, and nothing else, before the process ends with the usual panic exit code.
pub fn escape_panic_messages() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "internal error (a bug; please report it){at}: {}",
            sigbundle::text::terminal_safe(&sigbundle::text::escape_name(&msg))
        );
    }));
}

/// All three, in the order the binaries need them.
pub fn init() {
    ignore_file_size_signal();
    return_freed_memory();
    escape_panic_messages();
}
