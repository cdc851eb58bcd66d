//! `countersign-cli`: Countersign's flows from a terminal, built on the same crates as the
//! desktop app. Each subcommand lives in its own module under `commands/`.

mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = commands::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("countersign-cli: {error:#}");
            ExitCode::from(error.exit_code())
        }
    }
}
