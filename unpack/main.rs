//! `unpack`: the air-gapped side of sigbundle. Parses arguments, runs the command
//! (`sigbundle_cli::commands`), exits by the one policy (0 ok, 1 verification failed, 2 usage or
//! I/O error).

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use sigbundle::audit::AuditLog;
use sigbundle_cli::args::unpack::{Cli, Command};
use sigbundle_cli::commands::{apply, audit, check_path, docs, emit, inspect, keys, verify};
use sigbundle_cli::{exit, startup};

fn main() -> ExitCode {
    startup::init();
    let cli = Cli::parse();
    let log = AuditLog::new(cli.audit_log.unwrap_or_else(AuditLog::default_path));
    let result = match cli.command {
        Command::Verify(a) => verify::run(a, &log),
        Command::Inspect(a) => inspect::run(a, &log),
        Command::Emit(a) => emit::run(a, &log),
        Command::Apply(a) => apply::run(a, &log),
        Command::Audit(a) => audit::run(a, &log),
        Command::CheckPath(a) => check_path::run(a, &log),
        Command::Keys(a) => keys::run("unpack", a),
        Command::Completions(a) => docs::completions(Cli::command(), a),
        Command::Man(a) => docs::man(Cli::command(), a),
    };
    exit::finish("unpack", result)
}
