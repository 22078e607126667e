//! `pack`: the connected side of sigbundle. Parses arguments, runs the command
//! (`sigbundle_cli::commands`), exits by the one policy (0 ok, 1 verification failed, 2 usage or
//! I/O error).

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use sigbundle_cli::args::pack::{Cli, Command, KeyCommand};
use sigbundle_cli::{commands, exit, startup};

fn main() -> ExitCode {
    startup::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Key(KeyCommand::Generate { name, output, force })) => {
            commands::pack_key::generate(&name, &output, force)
        }
        Some(Command::Keys(a)) => commands::keys::run("pack", a),
        Some(Command::Cosign(a)) => commands::cosign::run(a),
        Some(Command::Completions(a)) => commands::docs::completions(Cli::command(), a),
        Some(Command::Man(a)) => commands::docs::man(Cli::command(), a),
        None => commands::pack::run(cli.pack),
    };
    exit::finish("pack", result)
}
