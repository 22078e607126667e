//! The command-line layer of `pack` and `unpack`, between the thin binaries and the library:
//! the argument types (`args`), one module per command (`commands`), the renderer of tables and
//! reports (`render`), the `--json` documents (`json`), how text reaches the terminal
//! (`printer`) and the one exit policy (`exit`).

pub mod args;
pub mod commands;
pub mod exit;
pub mod json;
pub mod printer;
pub mod render;
pub mod startup;
